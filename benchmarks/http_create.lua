-- wrk script for the create benchmark: POST /posts/ with a JSON body whose slug is unique.
-- Usage: wrk -s benchmarks/http_create.lua http://127.0.0.1:PORT/posts/ -- RUN_TAG
-- The slug is "bench-<run tag>-<thread>-<counter>", so no two requests of any run collide.

local threads_started = 0

function setup(thread)
  threads_started = threads_started + 1
  thread:set("thread_id", threads_started)
end

local tag = "run"
local counter = 0
local content = string.rep("Benchmark body text. ", 15)

function init(args)
  tag = args[1] or tostring(os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"title":"Bench post %d","slug":"bench-%s-%d-%d","content":"%s","is_published":true}',
    counter, tag, thread_id or 1, counter, content
  )
  return wrk.format(nil, nil, nil, body)
end

#!/usr/bin/env bash
# `make demo`: scaffold the example project with `core init` (once, in .demo/project), migrate it,
# create the demo user and serve the API on SQLite at http://127.0.0.1:8000 (docs at /docs).
set -euo pipefail
cd "$(dirname "$0")/.."
core="$PWD/.venv/bin/core"
project=".demo/project"
email="${DEMO_EMAIL:-demo@example.com}"
password="${DEMO_PASSWORD:-DemoPassw0rd}"

if [[ ! -f "$project/src/main.py" ]]; then
    rm -rf "$project"
    mkdir -p .demo
    (cd .demo && "$core" init project --no-venv)
fi
cd "$project"
if ! compgen -G "migrations/0*.py" >/dev/null; then
    "$core" makemigrations --name initial
fi
"$core" migrate
if output="$("$core" createsuperuser --email "$email" --password "$password" 2>&1)"; then
    echo "$output"
elif [[ "$output" == *"a user with email $email already exists"* ]]; then
    echo "Demo user $email already exists."
else
    # Anything else (a weak DEMO_PASSWORD, a bad DEMO_EMAIL): the login advertised below would fail.
    echo "make demo: could not create the demo user $email:" >&2
    echo "$output" >&2
    exit 1
fi
cat <<MSG

Demo API: http://${HOST:-127.0.0.1}:${PORT:-8000}/docs
Log in:   POST /api/v1/auth/login/ {"email": "$email", "password": "$password"}
          then click "Authorize" in /docs, or send "Authorization: Bearer <access_token>".

MSG
exec "$core" run --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"

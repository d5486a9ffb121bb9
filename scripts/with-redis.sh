#!/usr/bin/env bash
# Run a command against a throw-away Redis server.
#
#   scripts/with-redis.sh CMD [ARGS...]
#
# Starts a private redis-server on 127.0.0.1 (a free port, a password, no persistence, its
# own directory under /tmp), runs CMD with REDIS_URL pointing at it, then stops the server
# and removes its directory, whatever happens. Exits with CMD's exit code.
#
# CMD sees:
#   REDIS_URL   redis://:PASSWORD@127.0.0.1:PORT/0
#
# Needs: redis-server (Debian's package, installed with apt-get when missing, as root),
# python3 (to find a free port), runuser (when run as root: the server runs as an
# unprivileged user).
set -euo pipefail

SERVICE_USER=coretest   # as root, the server runs as this user (shared with with-postgres.sh)
LOG_NAME=with-redis
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_command "$@"

if ! command -v redis-server >/dev/null 2>&1; then
    [[ $EUID -eq 0 ]] || die "redis-server not found; install Debian's 'redis-server' package"
    log "no redis-server found: installing Debian's redis-server package"
    apt_install --no-service redis-server
    command -v redis-server >/dev/null 2>&1 || die "installed redis-server but cannot find it"
fi

choose_run_as "$SERVICE_USER"
as_redis() { as_run_as "$REDIS_DIR" "$@"; }

REDIS_DIR=""
# shellcheck disable=SC2317  # run on exit
stop_redis() {
    local pid i
    [[ -n $REDIS_DIR ]] || return 0
    pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    fi
    rm -rf -- "$REDIS_DIR"
}
on_exit stop_redis

REDIS_DIR=$(mktemp -d /tmp/core-redis.XXXXXX)
[[ $EUID -ne 0 ]] || chown "$RUN_AS:" "$REDIS_DIR"
PORT=$(free_port "${REDIS_PORT_TEST:-}")
PASSWORD=$(random_hex 16)

# The password goes in a config file, not on the command line (ps would show it).
cat >"$REDIS_DIR/redis.conf" <<CONF
bind 127.0.0.1
port $PORT
requirepass $PASSWORD
protected-mode yes
daemonize yes
pidfile $REDIS_DIR/redis.pid
logfile $REDIS_DIR/redis.log
dir $REDIS_DIR
save ""
appendonly no
CONF
chmod 600 "$REDIS_DIR/redis.conf"
[[ $EUID -ne 0 ]] || chown "$RUN_AS:" "$REDIS_DIR/redis.conf"

log "$(redis-server --version | awk '{print $1, $2, $3}') as $RUN_AS, in $REDIS_DIR, port $PORT"
as_redis redis-server "$REDIS_DIR/redis.conf" || die "redis-server did not start"

ready=""
for ((i = 0; i < 100; i++)); do
    if python3 - "$PORT" "$PASSWORD" <<'PY' 2>/dev/null; then ready=1; break; fi
import socket, sys
port, password = int(sys.argv[1]), sys.argv[2]
with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
    s.sendall(f"AUTH {password}\r\nPING\r\n".encode())
    data = b""
    while data.count(b"\r\n") < 2:
        chunk = s.recv(64)
        if not chunk:
            break
        data += chunk
sys.exit(0 if data == b"+OK\r\n+PONG\r\n" else 1)
PY
    sleep 0.1
done
if [[ -z $ready ]]; then
    cat "$REDIS_DIR/redis.log" >&2 || true
    die "the server does not answer on 127.0.0.1:$PORT"
fi

export REDIS_URL="redis://:$PASSWORD@127.0.0.1:$PORT/0"

run_command "$@"

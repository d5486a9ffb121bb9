#!/usr/bin/env bash
# Stop, start or restart the throw-away server of scripts/with-mariadb.sh.
#
#   scripts/mariadb-ctl.sh stop|start|restart|status
#
# Only works inside a command run by with-mariadb.sh, which exports
# MYSQL_TEST_DIR and MYSQL_TEST_RUN_AS (the server's settings are in
# $MYSQL_TEST_DIR/my.cnf). Waits until the server is down (stop) or accepts
# connections on its socket (start).
set -euo pipefail

usage() { echo "usage: $0 stop|start|restart|status" >&2; exit 2; }
[[ $# -eq 1 ]] || usage

for var in MYSQL_TEST_DIR MYSQL_TEST_RUN_AS; do
    if [[ -z ${!var:-} ]]; then
        echo "$0: $var is not set (run under scripts/with-mariadb.sh)" >&2
        exit 2
    fi
done

DIR=$MYSQL_TEST_DIR
PID_FILE=$DIR/mysqld.pid
SERVER=$(command -v mariadbd || echo /usr/sbin/mariadbd)

as_db() {
    cd "$DIR"
    if [[ $(id -un) == "$MYSQL_TEST_RUN_AS" ]]; then
        "$@"
    else
        runuser -u "$MYSQL_TEST_RUN_AS" -- "$@"
    fi
}

server_pid() {
    local pid
    pid=$(cat "$PID_FILE" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

alive() {
    # Answers over its socket (no password needed to ping).
    mariadb-admin --no-defaults --socket="$DIR/mysqld.sock" -u nobody ping >/dev/null 2>&1
}

start() {
    if [[ -n $(server_pid || true) ]]; then return 0; fi
    # Detached from our stdout/stderr: the caller may be waiting for their end.
    as_db setsid "$SERVER" --defaults-file="$DIR/my.cnf" </dev/null >/dev/null 2>&1 &
    local i
    for ((i = 0; i < 600; i++)); do
        if alive; then return 0; fi
        sleep 0.1
    done
    echo "$0: the server did not start in 60s; see $DIR/mysqld.log" >&2
    return 1
}

stop() {
    local pid i
    pid=$(server_pid || true)
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "$0: the server did not stop in 60s: killing $pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
}

case $1 in
    stop)    stop ;;
    start)   start ;;
    restart) stop; start ;;
    status)  if [[ -n $(server_pid || true) ]]; then echo "running (pid $(server_pid))"; else echo "stopped"; exit 3; fi ;;
    *)       usage ;;
esac

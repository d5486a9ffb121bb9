#!/usr/bin/env bash
# Stop, start or restart the throw-away server of scripts/with-postgres.sh.
#
#   scripts/pg-ctl.sh stop|start|restart|status
#
# Only works inside a command run by with-postgres.sh, which exports
# PG_TEST_BIN_DIR, PG_TEST_DATA_DIR, PG_TEST_RUN_AS and PG_TEST_LOG.
# Waits until the server is down (stop) or accepts connections (start).
set -euo pipefail

usage() { echo "usage: $0 stop|start|restart|status" >&2; exit 2; }
[[ $# -eq 1 ]] || usage

for var in PG_TEST_BIN_DIR PG_TEST_DATA_DIR PG_TEST_RUN_AS PG_TEST_LOG; do
    if [[ -z ${!var:-} ]]; then
        echo "$0: $var is not set (run under scripts/with-postgres.sh)" >&2
        exit 2
    fi
done

pg_ctl() {
    # From a directory the server's user can read (the data dir's parent).
    cd "$(dirname "$PG_TEST_DATA_DIR")"
    if [[ $(id -un) == "$PG_TEST_RUN_AS" ]]; then
        "$PG_TEST_BIN_DIR/pg_ctl" -D "$PG_TEST_DATA_DIR" "$@"
    else
        runuser -u "$PG_TEST_RUN_AS" -- "$PG_TEST_BIN_DIR/pg_ctl" -D "$PG_TEST_DATA_DIR" "$@"
    fi
}

case $1 in
    stop)    pg_ctl -m fast -w -t 60 stop ;;
    start)   pg_ctl -l "$PG_TEST_LOG" -w -t 60 start ;;
    restart) pg_ctl -l "$PG_TEST_LOG" -m fast -w -t 60 restart ;;
    status)  pg_ctl status ;;
    *)       usage ;;
esac

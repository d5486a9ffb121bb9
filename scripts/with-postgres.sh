#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server.
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
# Starts a private PostgreSQL server on 127.0.0.1 (its own port, data dir and
# socket dir under /tmp), runs CMD with DATABASE_URL pointing at a fresh
# database, then stops the server and removes its data dir, whatever happens.
# Exits with CMD's exit code.
#
# CMD sees:
#   DATABASE_URL        postgresql+asyncpg://core:PASSWORD@127.0.0.1:PORT/core_test
#   PG_TEST_ADMIN_URL   postgresql://postgres:PASSWORD@127.0.0.1:PORT/postgres (superuser)
#   PG_TEST_BIN_DIR     directory holding pg_ctl, psql, ...
#   PG_TEST_DATA_DIR    the server's data directory
#   PG_TEST_PORT        the server's TCP port
#   PG_TEST_RUN_AS      the OS user the server runs as
#   PG_TEST_LOG         the server's log file
# scripts/pg-ctl.sh stop|start|restart|status uses these to control the server.
#
# Settings: PGPORT_TEST picks the port (default: a free one).
# Needs: PostgreSQL server binaries (installed with apt-get when missing, as
# root), python3 (to find a free port), runuser (when run as root).
set -euo pipefail

DB_NAME=core_test
DB_USER=core
SERVICE_USER=coretest   # PostgreSQL refuses to run as root: use this user then.

LOG_NAME=with-postgres
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

need_command "$@"

# --- Find (or install) the server binaries --------------------------------
find_bin_dir() {
    local dir best=""
    # Highest version under Debian's layout: /usr/lib/postgresql/<major>/bin.
    while IFS= read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then best=$dir; fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    if [[ -z $best ]] && command -v pg_config >/dev/null 2>&1; then
        dir=$(pg_config --bindir 2>/dev/null || true)
        if [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]]; then best=$dir; fi
    fi
    if [[ -z $best ]] && command -v initdb >/dev/null 2>&1; then
        dir=$(dirname "$(command -v initdb)")
        if [[ -x $dir/pg_ctl ]]; then best=$dir; fi
    fi
    printf '%s' "$best"
}

BIN_DIR=$(find_bin_dir)
if [[ -z $BIN_DIR ]]; then
    [[ $EUID -eq 0 ]] || die "no PostgreSQL server binaries found; install Debian's 'postgresql' package"
    log "no PostgreSQL server found: installing Debian's postgresql package"
    apt_install postgresql
    BIN_DIR=$(find_bin_dir)
    [[ -n $BIN_DIR ]] || die "installed postgresql but found no initdb/pg_ctl"
fi

# --- Who runs the server ----------------------------------------------------
choose_run_as "$SERVICE_USER" PostgreSQL
# Run a command as the server's user, from a directory that user can read.
as_pg() { as_run_as "$PG_DIR" "$@"; }

# --- Stop and clean up, always ----------------------------------------------
PG_DIR=""
DATA_DIR=""

# shellcheck disable=SC2317  # called from the EXIT trap
stop_server() {
    [[ -n $DATA_DIR && -f $DATA_DIR/postmaster.pid ]] || return 0
    if as_pg "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -m fast -w -t 30 stop >/dev/null 2>&1; then
        return 0
    fi
    # pg_ctl failed: kill the postmaster by the pid it wrote.
    local pid i
    pid=$(head -n 1 "$DATA_DIR/postmaster.pid" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 0
    log "pg_ctl stop failed: killing postmaster $pid"
    kill -QUIT "$pid" 2>/dev/null || true          # immediate shutdown
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5   # its children notice the postmaster is gone and exit
}

# shellcheck disable=SC2317  # run on exit
stop_and_remove() {
    if [[ -n $PG_DIR ]]; then
        stop_server
        rm -rf -- "$PG_DIR"
    fi
}
on_exit stop_and_remove

# --- Create the cluster -------------------------------------------------------
PG_DIR=$(mktemp -d /tmp/core-pg.XXXXXX)
DATA_DIR=$PG_DIR/data
SOCK_DIR=$PG_DIR/sock
LOG_FILE=$PG_DIR/postgres.log
mkdir "$SOCK_DIR"
touch "$LOG_FILE"
[[ $EUID -ne 0 ]] || chown -R "$RUN_AS:" "$PG_DIR"

PORT=$(free_port "${PGPORT_TEST:-}")
ADMIN_PASSWORD=$(random_hex 12)
DB_PASSWORD=$(random_hex 12)

log "PostgreSQL $("$BIN_DIR/postgres" --version | awk '{print $3}') from $BIN_DIR, as $RUN_AS, in $PG_DIR, port $PORT"

printf '%s\n' "$ADMIN_PASSWORD" >"$PG_DIR/pwfile"
[[ $EUID -ne 0 ]] || chown "$RUN_AS:" "$PG_DIR/pwfile"
# Local (unix socket) connections are trusted; TCP ones need the password.
if ! as_pg "$BIN_DIR/initdb" -D "$DATA_DIR" --username=postgres --pwfile="$PG_DIR/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C \
        --no-sync >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    die "initdb failed"
fi
rm -f "$PG_DIR/pwfile"

# Settings go into postgresql.conf so that pg-ctl.sh start/restart reuse them.
cat >>"$DATA_DIR/postgresql.conf" <<EOF

# --- with-postgres.sh: throw-away test server ---
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK_DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF

# --- Start it and create the database ------------------------------------------
if ! as_pg "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t 60 start >/dev/null; then
    log "the server did not start; its log:"
    cat "$LOG_FILE" >&2
    exit 1
fi

PSQL=("$BIN_DIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK_DIR" -p "$PORT" -U postgres -d postgres)
if ! as_pg "${PSQL[@]}" \
        -c "CREATE ROLE $DB_USER LOGIN CREATEDB PASSWORD '$DB_PASSWORD'" \
        -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"; then
    cat "$LOG_FILE" >&2
    die "could not create the database"
fi

# Over TCP, with the password, as the application will connect.
if [[ -x $BIN_DIR/pg_isready ]] && ! "$BIN_DIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d "$DB_NAME" -t 30; then
    cat "$LOG_FILE" >&2
    die "the server does not accept TCP connections on 127.0.0.1:$PORT"
fi

export DATABASE_URL="postgresql+asyncpg://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
export PG_TEST_ADMIN_URL="postgresql://postgres:$ADMIN_PASSWORD@127.0.0.1:$PORT/postgres"
export PG_TEST_BIN_DIR=$BIN_DIR
export PG_TEST_DATA_DIR=$DATA_DIR
export PG_TEST_PORT=$PORT
export PG_TEST_RUN_AS=$RUN_AS
export PG_TEST_LOG=$LOG_FILE

# --- Run the command --------------------------------------------------------------
run_command "$@"

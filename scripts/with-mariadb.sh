#!/usr/bin/env bash
# Run a command against a throw-away MariaDB (MySQL) server.
#
#   scripts/with-mariadb.sh CMD [ARGS...]
#
# Starts a private MariaDB server on 127.0.0.1 (its own port, data dir and
# socket under /tmp), runs CMD with DATABASE_URL pointing at a fresh database,
# then stops the server and removes its data dir, whatever happens.
# Exits with CMD's exit code.
#
# CMD sees:
#   DATABASE_URL          mysql+aiomysql://core:PASSWORD@127.0.0.1:PORT/core_test
#   MYSQL_TEST_ADMIN_URL  mysql://root:PASSWORD@127.0.0.1:PORT/mysql (all privileges)
#   MYSQL_TEST_DIR        the server's directory (data dir, socket, config, log, pid)
#   MYSQL_TEST_PORT       the server's TCP port
#   MYSQL_TEST_RUN_AS     the OS user the server runs as
# scripts/mariadb-ctl.sh stop|start|restart|status uses these to control the server.
#
# Settings: MYSQL_PORT_TEST picks the port (default: a free one).
# Needs: MariaDB server binaries (Debian's mariadb-server, installed with apt-get
# when missing, as root), python3 (to find a free port), runuser (as root).
set -euo pipefail

DB_NAME=core_test
DB_USER=core
SERVICE_USER=coretest   # the server is never run as root: use this user then.
HERE=$(cd "$(dirname "$0")" && pwd)

LOG_NAME=with-mariadb
# shellcheck source=scripts/lib.sh
. "$HERE/lib.sh"

need_command "$@"

# --- Find (or install) the server binaries --------------------------------
find_server() {
    local bin
    for bin in mariadbd mysqld; do
        if command -v "$bin" >/dev/null 2>&1; then command -v "$bin"; return; fi
        if [[ -x /usr/sbin/$bin ]]; then printf '%s' "/usr/sbin/$bin"; return; fi
    done
}

SERVER=$(find_server)
if [[ -z $SERVER ]] || ! command -v mariadb-install-db >/dev/null 2>&1; then
    [[ $EUID -eq 0 ]] || die "no MariaDB server found; install Debian's 'mariadb-server' package"
    log "no MariaDB server found: installing Debian's mariadb-server package"
    apt_install --no-service mariadb-server
    SERVER=$(find_server)
    [[ -n $SERVER ]] || die "installed mariadb-server but found no mariadbd"
fi

# --- Who runs the server ----------------------------------------------------
choose_run_as "$SERVICE_USER" MariaDB
# Run a command as the server's user, from a directory that user can read.
as_db() { as_run_as "$DB_DIR" "$@"; }

# --- Stop and clean up, always ----------------------------------------------
DB_DIR=""

# shellcheck disable=SC2317  # run on exit
stop_and_remove() {
    if [[ -n $DB_DIR ]]; then
        MYSQL_TEST_DIR=$DB_DIR MYSQL_TEST_RUN_AS=$RUN_AS "$HERE/mariadb-ctl.sh" stop >/dev/null 2>&1
        rm -rf -- "$DB_DIR"
    fi
}
on_exit stop_and_remove

# --- Create the data directory ------------------------------------------------
DB_DIR=$(mktemp -d /tmp/core-mariadb.XXXXXX)
chmod 755 "$DB_DIR"
mkdir "$DB_DIR/data" "$DB_DIR/tmp"

PORT=$(free_port "${MYSQL_PORT_TEST:-}")
ADMIN_PASSWORD=$(random_hex 12)
DB_PASSWORD=$(random_hex 12)

# Every setting lives in one file, so that mariadb-ctl.sh start/restart reuse them.
# The server's default collation is Debian's case- and accent-insensitive
# utf8mb4_general_ci on purpose: the tests prove that the framework names its own
# collation on every table (see docs/guide/databases.md).
cat >"$DB_DIR/my.cnf" <<EOF
[mariadbd]
datadir = $DB_DIR/data
tmpdir = $DB_DIR/tmp
socket = $DB_DIR/mysqld.sock
pid-file = $DB_DIR/mysqld.pid
log-error = $DB_DIR/mysqld.log
bind-address = 127.0.0.1
port = $PORT
skip-name-resolve
max_connections = 300
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
innodb_buffer_pool_size = 64M
innodb_log_file_size = 16M
innodb_flush_log_at_trx_commit = 0
innodb_doublewrite = 0
sync_binlog = 0
skip-log-bin
performance_schema = OFF
EOF
[[ $EUID -ne 0 ]] || chown -R "$RUN_AS:" "$DB_DIR"

log "$("$SERVER" --version | awk '{print $1, $3}'), as $RUN_AS, in $DB_DIR, port $PORT"

# The root account authenticates over the socket only until we give it a password.
if ! as_db mariadb-install-db --defaults-file="$DB_DIR/my.cnf" --auth-root-authentication-method=normal \
        --skip-test-db --user="$RUN_AS" >"$DB_DIR/install.log" 2>&1; then
    cat "$DB_DIR/install.log" >&2
    die "mariadb-install-db failed"
fi

# --- Start it and create the database ------------------------------------------
export MYSQL_TEST_DIR=$DB_DIR MYSQL_TEST_RUN_AS=$RUN_AS MYSQL_TEST_PORT=$PORT
if ! "$HERE/mariadb-ctl.sh" start >/dev/null; then
    log "the server did not start; its log:"
    cat "$DB_DIR/mysqld.log" >&2
    exit 1
fi

if ! as_db mariadb --no-defaults --socket="$DB_DIR/mysqld.sock" -u root <<EOF
ALTER USER 'root'@'localhost' IDENTIFIED BY '$ADMIN_PASSWORD';
CREATE OR REPLACE USER 'root'@'127.0.0.1' IDENTIFIED BY '$ADMIN_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB_NAME\`.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`${DB_NAME}\\_%\`.* TO '$DB_USER'@'127.0.0.1';
FLUSH PRIVILEGES;
EOF
then
    cat "$DB_DIR/mysqld.log" >&2
    die "could not create the database"
fi

# Over TCP, with the password, as the application will connect.
if ! mariadb --no-defaults -h 127.0.0.1 -P "$PORT" -u "$DB_USER" -p"$DB_PASSWORD" "$DB_NAME" \
        -e 'SELECT 1' >/dev/null; then
    cat "$DB_DIR/mysqld.log" >&2
    die "the server does not accept TCP connections on 127.0.0.1:$PORT"
fi

export DATABASE_URL="mysql+aiomysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PORT/$DB_NAME"
export MYSQL_TEST_ADMIN_URL="mysql://root:$ADMIN_PASSWORD@127.0.0.1:$PORT/mysql"

# --- Run the command --------------------------------------------------------------
run_command "$@"

# shellcheck shell=bash
# The start/stop skeleton of the throw-away servers: with-postgres.sh, with-mariadb.sh and
# with-redis.sh source it after setting LOG_NAME (their log prefix):
#
#   LOG_NAME=with-redis
#   . "$(dirname "$0")/lib.sh"
#   need_command "$@"                     # usage error without CMD
#   apt_install [--no-service] PACKAGE    # Debian's package, as root (--no-service: the
#                                         # package's maintainer scripts start no service)
#   choose_run_as USER [WHAT]             # RUN_AS: USER (created) as root, else the caller
#   as_run_as DIR CMD...                  # CMD as RUN_AS, from DIR
#   on_exit FUNCTION                      # on any exit: FUNCTION (errors ignored), keep the rc
#   PORT=$(free_port "${OVERRIDE:-}")      # a free TCP port on 127.0.0.1 (or OVERRIDE)
#   PASSWORD=$(random_hex BYTES)          # letters and digits only: no escaping in a URL
#   run_command "$@"                      # run CMD, log its exit code, exit with it

log() { printf '%s: %s\n' "$LOG_NAME" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_command() {
    [[ $# -gt 0 ]] || die "usage: $0 CMD [ARGS...]"
}

apt_install() {
    local no_service=0 policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ $1 == --no-service ]]; then no_service=1; shift; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d exiting 101: the package must not start its own system-wide service.
    if [[ $no_service -eq 1 && ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        made_policy=1
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
    if [[ $made_policy -eq 1 ]]; then rm -f "$policy"; trap - EXIT; fi
}

choose_run_as() {
    local user=$1 what=${2:-}
    if [[ $EUID -eq 0 ]]; then
        RUN_AS=$user
        if ! id -u "$RUN_AS" >/dev/null 2>&1; then
            [[ -z $what ]] || log "creating system user $RUN_AS to run $what"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$RUN_AS" 2>/dev/null \
                || id -u "$RUN_AS" >/dev/null 2>&1 \
                || die "could not create user $RUN_AS"
        fi
    else
        RUN_AS=$(id -un)
    fi
}

as_run_as() {
    local dir=$1
    shift
    if [[ $(id -un) == "$RUN_AS" ]]; then
        (cd "$dir" && "$@")
    else
        (cd "$dir" && runuser -u "$RUN_AS" -- "$@")
    fi
}

ON_EXIT=""
# shellcheck disable=SC2317  # the EXIT trap
_lib_cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM HUP
    [[ -z $ON_EXIT ]] || "$ON_EXIT"
    exit "$rc"
}

on_exit() {
    ON_EXIT=$1
    trap _lib_cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

free_port() {
    local port=${1:-}
    if [[ -z $port ]]; then
        port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    fi
    [[ $port =~ ^[0-9]+$ ]] || die "bad port: $port"
    printf '%s' "$port"
}

random_hex() {
    python3 -c "import secrets; print(secrets.token_hex($1))"
}

run_command() {
    local rc=0
    "$@" || rc=$?
    log "command exited with $rc; stopping the server"
    exit "$rc"
}

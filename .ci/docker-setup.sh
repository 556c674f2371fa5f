#!/bin/bash
# A private Docker engine for the docker tests, and the MariaDB test image built without
# any registry (docker/build-test-image.sh). Idempotent: a running engine is reused, an
# existing image is not rebuilt.
#
#   eval "$(bash .ci/docker-setup.sh)"          start; stdout carries only `export` lines
#   eval "$(bash .ci/docker-setup.sh --stop)"   remove our containers, stop the engine
#   bash .ci/docker-setup.sh --stop --purge     also delete the engine's data root
#
# HARBOR_MIGRATE_TEST_REQUIRE_DOCKER=1 in the exports makes the docker tests fail, not skip,
# when the engine or image is missing: a CI that set Docker up cannot pass by skipping.
# Env: HARBOR_MIGRATE_DOCKER_DIR (default /tmp/hm-docker: socket, pid, log, data root),
#      HARBOR_MIGRATE_TEST_IMAGE, HARBOR_MIGRATE_IMAGE_CACHE (see build-test-image.sh).
# Needs root, Debian packages (docker.io, debootstrap) and nothing else from the network.
set -euo pipefail

DIR="${HARBOR_MIGRATE_DOCKER_DIR:-/tmp/hm-docker}"
SOCK="$DIR/docker.sock"
PIDFILE="$DIR/dockerd.pid"
LOGFILE="$DIR/dockerd.log"
IMAGE="${HARBOR_MIGRATE_TEST_IMAGE:-harbor-migrate-test-mariadb:10.11}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DOCKER_HOST="unix://$SOCK"

exec 3>&1 1>&2   # fd 3 = the caller's eval; everything else is a log on stderr
log() { echo "docker-setup: $*"; }
die() { echo "docker-setup: ERROR: $*"; exit 1; }

STOP=0
PURGE=0
for arg in "$@"; do
    case "$arg" in
        --stop) STOP=1 ;;
        --purge) PURGE=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 0 ;;
        *) die "unknown argument $arg (see --help)" ;;
    esac
done

# Running and not a zombie: a killed daemon whose parent has gone may linger unreaped.
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# The pid of the engine this script started, if it still runs (never a stranger's pid).
our_dockerd_pid() {
    local pid
    [ -s "$PIDFILE" ] || return 1
    pid="$(cat "$PIDFILE")"
    alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "dockerd" ] || return 1
    echo "$pid"
}

engine_answers() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

stop_engine() {
    local pid
    if engine_answers; then
        # Every container of this private engine was started by our runs.
        ids="$(docker ps -aq)"
        if [ -n "$ids" ]; then
            log "removing $(echo "$ids" | wc -l) container(s)"
            # shellcheck disable=SC2086
            docker rm -f $ids >/dev/null || true
        fi
    fi
    if pid="$(our_dockerd_pid)"; then
        log "stopping dockerd (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 150); do
            alive "$pid" || break
            sleep 0.2
        done
        if alive "$pid"; then
            log "dockerd did not stop within 30s; killing pid $pid"
            kill -KILL "$pid" || true
        fi
    else
        log "no dockerd of ours is running (pid file $PIDFILE)"
    fi
    rm -f "$PIDFILE"
    if [ "$PURGE" = 1 ]; then
        log "deleting $DIR"
        rm -rf "$DIR"
    fi
    echo "unset DOCKER_HOST TESTCONTAINERS_RYUK_DISABLED TC_HOST TESTCONTAINERS_CONNECTION_MODE HARBOR_MIGRATE_TEST_IMAGE HARBOR_MIGRATE_TEST_REQUIRE_DOCKER" >&3
}

# Rehearsal containers of runs that were killed before their stop().
remove_leftovers() {
    local ids
    ids="$(docker ps -aq --filter label=org.harbor-migrate.rehearsal)"
    if [ -n "$ids" ]; then
        log "removing $(echo "$ids" | wc -l) leftover rehearsal container(s)"
        # shellcheck disable=SC2086
        docker rm -f $ids >/dev/null || true
    fi
}

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    [ "${#missing[@]}" = 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root: run as root or install them first"
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
}

# After a crash (CI ends a session's processes with SIGKILL) the exec root still names the
# old containerd; while that pid lingers as a zombie, a new dockerd takes it for alive,
# waits for its socket and fails. Forget a pid that is gone; keep everything else, so the
# new engine reconciles (and removes) what the old one left running.
clear_crashed_engine() {
    local cfile="$DIR/exec/containerd/containerd.pid"
    if [ -s "$cfile" ] && ! alive "$(cat "$cfile")"; then
        rm -f "$cfile"
    fi
    rm -f "$PIDFILE" "$SOCK"
}

start_engine() {
    local pid
    if engine_answers; then
        log "reusing the engine at $DOCKER_HOST"
        return 0
    fi
    mkdir -p "$DIR"
    if ! pid="$(our_dockerd_pid)"; then
        clear_crashed_engine
        log "starting dockerd (data root $DIR/data, log $LOGFILE)"
        # Own session, and neither stdout nor fd 3 inherited: `eval "$(...)"` must not wait for the daemon.
        setsid dockerd --data-root "$DIR/data" --exec-root "$DIR/exec" --host "unix://$SOCK" \
            --pidfile "$PIDFILE" </dev/null >"$LOGFILE" 2>&1 3>&- &
        pid=$!
    fi
    for _ in $(seq 1 300); do
        engine_answers && { log "engine ready ($(docker version -f '{{.Server.Version}}'))"; remove_leftovers; return 0; }
        alive "$pid" || { tail -n 15 "$LOGFILE"; die "dockerd exited at start; its log is above ($LOGFILE)"; }
        sleep 0.2
    done
    tail -n 15 "$LOGFILE"
    die "dockerd did not answer within 60s; see $LOGFILE"
}

if [ "$STOP" = 1 ]; then
    stop_engine
    exit 0
fi

install_packages
start_engine
HARBOR_MIGRATE_TEST_IMAGE="$IMAGE" bash "$ROOT/docker/build-test-image.sh"

for kv in "DOCKER_HOST=$DOCKER_HOST" TESTCONTAINERS_RYUK_DISABLED=true TC_HOST=127.0.0.1 \
          TESTCONTAINERS_CONNECTION_MODE=docker_host "HARBOR_MIGRATE_TEST_IMAGE=$IMAGE" \
          HARBOR_MIGRATE_TEST_REQUIRE_DOCKER=1; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}" >&3
done

#!/bin/bash
# Entrypoint of harbor-migrate-test-mariadb: the official mysql/mariadb images' contract,
# small enough to read, so the docker backend runs the same code path here (no registry)
# as on a user's machine with mysql:5.6 or mariadb:10.x.
#
# Honoured: MYSQL_ROOT_PASSWORD / MARIADB_ROOT_PASSWORD (and their *_FILE forms),
# MYSQL_ALLOW_EMPTY_PASSWORD / MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD,
# MYSQL_ROOT_HOST (default %), MYSQL_DATABASE, MYSQL_USER + MYSQL_PASSWORD (MARIADB_* too),
# *.sh / *.sql / *.sql.gz in /docker-entrypoint-initdb.d (sorted), server options as
# arguments (`--explicit-defaults-for-timestamp=OFF`). Not done: time-zone tables.
# Never prints a password.
set -euo pipefail

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock
INITDIR=/docker-entrypoint-initdb.d

log() { printf '%s [Entrypoint]: %s\n' "$(date -u '+%Y-%m-%d %H:%M:%S')" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# VAR, or the content of the file named by VAR_FILE (compose/swarm secrets).
file_env() {
    local var="$1" def="${2:-}" file_var="${1}_FILE" val="${2:-}"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        die "both $var and $file_var are set: set only one"
    fi
    if [ -n "${!var:-}" ]; then
        val="${!var}"
    elif [ -n "${!file_var:-}" ]; then
        val="$(< "${!file_var}")"
    fi
    export "$var"="$val"
    unset "$file_var"
}

# MARIADB_X wins over MYSQL_X, as in the official mariadb image.
mariadb_alias() {
    local m="MARIADB_$1" y="MYSQL_$1"
    file_env "$m"
    file_env "$y"
    if [ -n "${!m:-}" ]; then export "$y"="${!m}"; fi
}

sql_escape() {
    local s="${1//\\/\\\\}"
    printf '%s' "${s//\'/\\\'}"
}

# Client over the socket; the password travels in the environment, never in argv.
sql() {
    MYSQL_PWD="${ROOT_PW_FOR_CLIENT:-}" mariadb --protocol=socket --socket="$SOCKET" -uroot \
        --default-character-set=utf8mb4 "$@"
}
# The name the official images give it, for sourced *.sh init scripts.
docker_process_sql() { sql "$@"; }

init_database() {
    for n in ROOT_PASSWORD ALLOW_EMPTY_PASSWORD RANDOM_ROOT_PASSWORD ROOT_HOST DATABASE USER PASSWORD; do
        mariadb_alias "$n"
    done
    if [ -n "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then MYSQL_ALLOW_EMPTY_PASSWORD=1; fi
    if [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then MYSQL_RANDOM_ROOT_PASSWORD=1; fi
    if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" ] \
        && [ -z "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        die "database is uninitialized and no root password option is set: set MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ -n "${MYSQL_RANDOM_ROOT_PASSWORD:-}" ]; then
        MYSQL_ROOT_PASSWORD="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
        log "a random root password was generated (not shown)"
    fi
    local root_host="${MYSQL_ROOT_HOST:-%}"

    log "initializing the data directory"
    mkdir -p "$DATADIR"
    chown -R mysql:mysql "$DATADIR"
    mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=normal \
        --skip-test-db --skip-name-resolve >/dev/null

    log "starting a temporary server without networking"
    mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --skip-networking \
        --skip-log-bin "$@" &
    local pid=$!
    local i
    for i in $(seq 1 600); do
        if mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1; then break; fi
        kill -0 "$pid" 2>/dev/null || die "the temporary server exited during initialization"
        sleep 0.1
    done
    mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1 \
        || die "the temporary server did not answer within 60s"

    local pw user_pw
    pw="$(sql_escape "${MYSQL_ROOT_PASSWORD:-}")"
    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        echo "DELETE FROM mysql.global_priv WHERE User='' OR (User='root' AND Host NOT IN ('localhost'));"
        echo "FLUSH PRIVILEGES;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';"
        if [ "$root_host" != "localhost" ]; then
            echo "CREATE USER 'root'@'$(sql_escape "$root_host")' IDENTIFIED BY '$pw';"
            echo "GRANT ALL ON *.* TO 'root'@'$(sql_escape "$root_host")' WITH GRANT OPTION;"
        fi
        if [ -n "${MYSQL_DATABASE:-}" ]; then
            echo "CREATE DATABASE IF NOT EXISTS \`${MYSQL_DATABASE//\`/\`\`}\`;"
        fi
        if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
            user_pw="$(sql_escape "$MYSQL_PASSWORD")"
            echo "CREATE USER '$(sql_escape "$MYSQL_USER")'@'%' IDENTIFIED BY '$user_pw';"
            if [ -n "${MYSQL_DATABASE:-}" ]; then
                echo "GRANT ALL ON \`${MYSQL_DATABASE//\`/\`\`}\`.* TO '$(sql_escape "$MYSQL_USER")'@'%';"
            fi
        fi
        echo "FLUSH PRIVILEGES;"
    } | sql
    ROOT_PW_FOR_CLIENT="${MYSQL_ROOT_PASSWORD:-}"

    local f db_args=()
    if [ -n "${MYSQL_DATABASE:-}" ]; then db_args=(--database="$MYSQL_DATABASE"); fi
    shopt -s nullglob
    for f in "$INITDIR"/*; do
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then log "running $f"; "$f"
                else log "sourcing $f"; . "$f"; fi ;;
            *.sql) log "running $f"; sql "${db_args[@]}" < "$f" ;;
            *.sql.gz) log "running $f"; gunzip -c "$f" | sql "${db_args[@]}" ;;
            *) log "ignoring $f" ;;
        esac
    done
    shopt -u nullglob

    log "stopping the temporary server"
    kill -TERM "$pid"
    wait "$pid" || true
    unset ROOT_PW_FOR_CLIENT MYSQL_ROOT_PASSWORD MARIADB_ROOT_PASSWORD MYSQL_PASSWORD MARIADB_PASSWORD
    log "initialization done"
}

main() {
    # Like the official images: a first argument starting with '-' is a server option.
    if [ "$#" -eq 0 ] || [ "${1:0:1}" = "-" ]; then set -- mariadbd "$@"; fi
    if [ "$1" != "mariadbd" ] && [ "$1" != "mysqld" ]; then exec "$@"; fi
    shift
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    if [ ! -d "$DATADIR/mysql" ]; then
        init_database "$@"
    fi
    log "starting the server on 0.0.0.0:3306"
    exec mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --port=3306 \
        --bind-address=0.0.0.0 --skip-name-resolve "$@"
}

main "$@"

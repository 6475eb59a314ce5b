#!/usr/bin/env bash
# A PostgreSQL server of the bench's own, loaded with TechEmpower's `hello_world` database.
#
#   benches/tfb/db.sh start     # install PostgreSQL if missing, initdb, start, load; prints the env
#   benches/tfb/db.sh stop
#   benches/tfb/db.sh env       # the connection settings, as shell assignments
#
# The data directory is benches/tfb/out/pg (DB_DIR to change); the server listens on
# 127.0.0.1:$DB_PORT (5433 by default, so a system PostgreSQL on 5432 is left alone) and on
# a unix socket in $DB_DIR/run. User benchmarkdbuser, password benchmarkdbpass, database
# hello_world, as TechEmpower's toolset sets up (toolset/databases/postgres); the tables are
# created by schema.sql. pg_stat_statements is preloaded: the verifier counts queries with it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DB_DIR="${DB_DIR:-$HERE/out/pg}"
DB_PORT="${DB_PORT:-5433}"
PGBIN="${PGBIN:-}"

find_pgbin() {
    [ -n "$PGBIN" ] && return
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$d" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    PGBIN="$d"
}

# PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user.
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

print_env() {
    cat <<ENV
DB_HOST=127.0.0.1
DB_PORT=$DB_PORT
DB_SOCKET_DIR=$DB_DIR/run
DB_DATA=$DB_DIR/data
DB_USER=benchmarkdbuser
DB_PASSWORD=benchmarkdbpass
DB_NAME=hello_world
DATABASE_URL=postgres://benchmarkdbuser:benchmarkdbpass@127.0.0.1:$DB_PORT/hello_world
ENV
}

start() {
    find_pgbin
    mkdir -p "$DB_DIR"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$DB_DIR"
        # The postgres user must reach the data directory through the checkout's folders.
        local p="$DB_DIR"
        while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
    fi
    if as_pg "$PGBIN/pg_ctl" -D "$DB_DIR/data" status >/dev/null 2>&1; then
        echo "db.sh: already running ($DB_DIR/data)" >&2
        print_env
        return
    fi
    rm -rf "$DB_DIR/data" "$DB_DIR/run"
    as_pg mkdir -p "$DB_DIR/run"
    local pwfile="$DB_DIR/pw"
    echo postgres | as_pg tee "$pwfile" >/dev/null
    as_pg "$PGBIN/initdb" -D "$DB_DIR/data" -U postgres --pwfile="$pwfile" -A scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >/dev/null
    # TechEmpower's settings (toolset/databases/postgres/postgresql.conf), sized for this machine.
    as_pg tee -a "$DB_DIR/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $DB_PORT
unix_socket_directories = '$DB_DIR/run'
max_connections = 2000
ssl = false
shared_buffers = 256MB
work_mem = 64MB
maintenance_work_mem = 512MB
wal_level = minimal
synchronous_commit = off
checkpoint_completion_target = 0.9
max_wal_senders = 0
random_page_cost = 2
effective_cache_size = 8GB
track_activity_query_size = 2048
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
pg_stat_statements.max = 500000
max_pred_locks_per_transaction = 256
CONF
    as_pg "$PGBIN/pg_ctl" -D "$DB_DIR/data" -l "$DB_DIR/server.log" -w start >/dev/null
    local psql=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DB_DIR/run" -p "$DB_PORT")
    PGPASSWORD=postgres as_pg env PGPASSWORD=postgres "${psql[@]}" -U postgres -d postgres <<SQL
CREATE USER benchmarkdbuser WITH PASSWORD 'benchmarkdbpass';
CREATE DATABASE hello_world WITH OWNER benchmarkdbuser ENCODING 'UTF8' TEMPLATE template0;
SQL
    as_pg env PGPASSWORD=postgres "${psql[@]}" -U postgres -d hello_world \
        -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; GRANT pg_read_all_stats TO benchmarkdbuser; GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO benchmarkdbuser;"
    as_pg env PGPASSWORD=benchmarkdbpass "${psql[@]}" -U benchmarkdbuser -d hello_world -f "$HERE/schema.sql"
    echo "db.sh: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$DB_PORT, data in $DB_DIR/data" >&2
    print_env
}

stop() {
    find_pgbin
    [ -d "$DB_DIR/data" ] || return 0
    as_pg "$PGBIN/pg_ctl" -D "$DB_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac

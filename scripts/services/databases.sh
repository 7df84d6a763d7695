#!/usr/bin/env bash
# Test servers of the SQL backend: PostgreSQL and MariaDB/MySQL.
#
#   databases.sh start   check both servers answer (starting installed ones if
#                        they do not), then print their base URIs:
#                          STOREKIT_TEST_POSTGRES_URI=postgresql://postgres@127.0.0.1:5432/test
#                          STOREKIT_TEST_MYSQL_URI=mysql://root@127.0.0.1:3306/test
#   databases.sh stop    nothing: these are the machine's own servers.
#
# Tests create (and drop) their own databases on these servers.
set -euo pipefail

PG_HOST=${STOREKIT_PG_HOST:-127.0.0.1}
PG_PORT=${STOREKIT_PG_PORT:-5432}
MY_HOST=${STOREKIT_MYSQL_HOST:-127.0.0.1}
MY_PORT=${STOREKIT_MYSQL_PORT:-3306}

pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -U postgres
    else
        (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
    fi
}

my_up() {
    if command -v mysqladmin >/dev/null 2>&1; then
        mysqladmin --protocol=TCP -h "$MY_HOST" -P "$MY_PORT" -u root ping >/dev/null 2>&1
    else
        (exec 3<>"/dev/tcp/$MY_HOST/$MY_PORT") 2>/dev/null
    fi
}

wait_for() {  # wait_for <check-fn> <seconds>
    local fn=$1 limit=$2 i
    for ((i = 0; i < limit * 4; i++)); do
        "$fn" && return 0
        sleep 0.25
    done
    return 1
}

start_pg() {
    pg_up && return 0
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        local version
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    fi
    wait_for pg_up 30 || {
        echo "PostgreSQL does not answer on $PG_HOST:$PG_PORT and could not be started;" \
             "install PostgreSQL (trust auth for user postgres, database 'test') or set" \
             "STOREKIT_TEST_POSTGRES_URI to a server of your own" >&2
        return 1
    }
}

start_mysql() {
    my_up && return 0
    if [ -x /usr/sbin/mariadbd ] && command -v start-stop-daemon >/dev/null 2>&1; then
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2 || true
    fi
    wait_for my_up 30 || {
        echo "MariaDB/MySQL does not answer on $MY_HOST:$MY_PORT and could not be started;" \
             "install MariaDB (user root without password, database 'test') or set" \
             "STOREKIT_TEST_MYSQL_URI to a server of your own" >&2
        return 1
    }
}

case "${1:-}" in
    start)
        start_pg
        start_mysql
        echo "STOREKIT_TEST_POSTGRES_URI=postgresql://postgres@$PG_HOST:$PG_PORT/test"
        echo "STOREKIT_TEST_MYSQL_URI=mysql://root@$MY_HOST:$MY_PORT/test"
        ;;
    stop)
        # The servers belong to the machine; leave them running.
        ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac

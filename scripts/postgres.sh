# shellcheck shell=bash
# Sourced by scripts/test (and by hand before the server bench): a private PostgreSQL on
# 127.0.0.1 for the server's tests, which create one database per test in it.
#
#   source scripts/postgres.sh && ensure_test_postgres
#
# Installs PostgreSQL if missing, creates the cluster once, starts it if it is not running and
# exports KIOSK_TEST_POSTGRES_URL. Test data only: no fsync, trust authentication on loopback.
# The server bench's durable cluster (fsync on) is start_bench_postgres, at the end.
set -euo pipefail

KIOSK_TEST_POSTGRES_PORT=55432
KIOSK_TEST_POSTGRES_USER=kiosk_test
KIOSK_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=scripts/deps.sh
source "$KIOSK_REPO_ROOT/scripts/deps.sh"

# The bin directory of the newest installed PostgreSQL that has initdb, or nothing.
postgres_bin_dir() {
  local initdb
  initdb="$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)"
  if [ -x "$initdb" ]; then dirname "$initdb"; fi
}

# Runs a PostgreSQL server program as the cluster's owner: the server refuses to run as root,
# so root hands it to the unprivileged user the postgresql package creates.
as_cluster_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Where the cluster lives: under the cargo target directory, unless the postgres user cannot
# reach it there (root's checkout in a private home), then in /tmp.
test_postgres_data_dir() {
  local target="${CARGO_TARGET_DIR:-$KIOSK_REPO_ROOT/target}"
  local data="${KIOSK_TEST_PGDATA:-$target/pg-test}"
  if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$data"
    chown postgres:postgres "$data"
    if ! runuser -u postgres -- test -w "$data"; then
      data="${TMPDIR:-/tmp}/kiosk-pg-test"
      mkdir -p "$data"
      chown postgres:postgres "$data"
    fi
  else
    mkdir -p "$data"
  fi
  chmod 700 "$data"
  printf '%s\n' "$data"
}

ensure_test_postgres() {
  local bin
  bin="$(postgres_bin_dir)"
  if [ -z "$bin" ]; then
    echo "==> installing missing packages: postgresql"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql
    bin="$(postgres_bin_dir)"
    if [ -z "$bin" ]; then
      echo "postgresql is installed but no /usr/lib/postgresql/*/bin/initdb was found" >&2
      return 1
    fi
  fi
  local port="$KIOSK_TEST_POSTGRES_PORT" user="$KIOSK_TEST_POSTGRES_USER"
  export KIOSK_TEST_POSTGRES_URL="postgres://$user@127.0.0.1:$port/postgres"

  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    echo "==> test PostgreSQL already running on 127.0.0.1:$port"
  else
    local data
    data="$(test_postgres_data_dir)"
    local major
    major="$(basename "$(dirname "$bin")")"
    if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$major" ]; then
      echo "==> test PostgreSQL cluster in $data is from another major version: recreating it"
      find "$data" -mindepth 1 -delete
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      echo "==> creating the test PostgreSQL cluster in $data"
      as_cluster_owner "$bin/initdb" -D "$data" -U "$user" --auth=trust \
        --encoding=UTF8 --no-locale --no-sync >/dev/null
    fi
    echo "==> starting the test PostgreSQL on 127.0.0.1:$port"
    # Loopback TCP only (no Unix socket: nothing to collide with a system cluster); fsync and
    # friends off because a crash only loses test databases.
    as_cluster_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null
  fi

  if ! "$bin/psql" -X -q -At -d "$KIOSK_TEST_POSTGRES_URL" -c 'SELECT 1' >/dev/null; then
    echo "a PostgreSQL answers on 127.0.0.1:$port but not to $KIOSK_TEST_POSTGRES_URL" >&2
    return 1
  fi
}

# A second, durable cluster for the server's throughput bench (issue 18, part 3): fsync,
# synchronous_commit and full_page_writes on, as a production server runs. Started by
# scripts/bench-server, stopped again by stop_bench_postgres; exports KIOSK_BENCH_POSTGRES_URL.
KIOSK_BENCH_POSTGRES_PORT=55433

bench_postgres_data_dir() {
  KIOSK_TEST_PGDATA="${KIOSK_BENCH_PGDATA:-${CARGO_TARGET_DIR:-$KIOSK_REPO_ROOT/target}/pg-bench}" \
    test_postgres_data_dir
}

start_bench_postgres() {
  ensure_test_postgres >/dev/null
  local bin data port="$KIOSK_BENCH_POSTGRES_PORT" user="$KIOSK_TEST_POSTGRES_USER"
  bin="$(postgres_bin_dir)"
  data="$(bench_postgres_data_dir)"
  export KIOSK_BENCH_POSTGRES_URL="postgres://$user@127.0.0.1:$port/postgres"
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    as_cluster_owner "$bin/pg_ctl" -D "$data" -w -m fast stop >/dev/null || true
  fi
  if [ -f "$data/PG_VERSION" ] && [ "$(cat "$data/PG_VERSION")" != "$(basename "$(dirname "$bin")")" ]; then
    find "$data" -mindepth 1 -delete
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "==> creating the durable bench PostgreSQL cluster in $data"
    as_cluster_owner "$bin/initdb" -D "$data" -U "$user" --auth=trust \
      --encoding=UTF8 --no-locale >/dev/null
  fi
  echo "==> starting the durable bench PostgreSQL on 127.0.0.1:$port (fsync=on, synchronous_commit=on)"
  as_cluster_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories='' -c fsync=on -c synchronous_commit=on -c full_page_writes=on" \
    start >/dev/null
}

stop_bench_postgres() {
  local bin
  bin="$(postgres_bin_dir)"
  as_cluster_owner "$bin/pg_ctl" -D "$(bench_postgres_data_dir)" -w -m fast stop >/dev/null || true
}

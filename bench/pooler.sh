#!/usr/bin/env bash
# Benchmark: what a transaction pooler costs the pgq worker. Drains JOBS no-op
# jobs (batch 10) in four setups, REPEAT times each, and prints jobs/s (first
# pick to last completion, from pgqueuer_log) and the wall time of the CLI
# suite (install, queue, jobs, dashboard, verify …):
#   direct            prepared statements (the default), straight to PostgreSQL
#   direct-unnamed    --pooler transaction, straight to PostgreSQL (the cost of
#                     unnamed statements alone)
#   session           through PgBouncer, pool_mode = session
#   transaction       through PgBouncer, pool_mode = transaction, --pooler transaction
# Prints figures; never fails on speed, fails when a command fails or a drain
# does not run every job exactly once.
#
#   bench/pooler.sh [JOBS] [REPEAT]   (defaults 20000 and 3)
#
# Needs: cargo, PostgreSQL at PGQ_BENCH_DSN (default
# postgres://postgres@127.0.0.1:5432/postgres), psql, /usr/sbin/pgbouncer.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-20000}
REPEAT=${2:-3}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_pooler
PROFILE=${PGQ_BENCH_PROFILE:-release}
cargo build --quiet --profile "$PROFILE"
PGQ=target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/pgq
DIRECT=${ADMIN%/*}/$DB
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
# PgBouncer refuses root: as root it runs as postgres, which writes its log and pid here.
[ "$(id -u)" = 0 ] && chown postgres "$WORK"

psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DIRECT $PGQ install >/dev/null

start_pgbouncer() { # mode port
  local host port
  host=$(echo "$ADMIN" | sed -E 's|.*@([^:/]+).*|\1|')
  port=$(echo "$ADMIN" | sed -E 's|.*:([0-9]+)/.*|\1|')
  echo '"postgres" ""' >"$WORK/users.txt"
  cat >"$WORK/$1.ini" <<INI
[databases]
$DB = host=$host port=$port dbname=$DB
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir =
auth_type = trust
auth_file = $WORK/users.txt
pool_mode = $1
default_pool_size = 4
ignore_startup_parameters = extra_float_digits,options
logfile = $WORK/$1.log
pidfile = $WORK/$1.pid
INI
  chmod 644 "$WORK"/*
  local as=()
  [ "$(id -u)" = 0 ] && as=(-u postgres)
  /usr/sbin/pgbouncer -d "${as[@]}" "$WORK/$1.ini"
  for _ in $(seq 50); do psql -Atq "postgres://postgres@127.0.0.1:$2/$DB" -c 'SELECT 1' >/dev/null 2>&1 && return; sleep 0.1; done
  echo "pgbouncer ($1) did not start" >&2; exit 1
}
start_pgbouncer session 6541
start_pgbouncer transaction 6542

MANIFEST=$WORK/noop.toml
printf '[[entrypoint]]\nname = "noop"\nbuiltin = "noop"\n' >"$MANIFEST"
seq "$JOBS" | sed 's/.*/{"entrypoint": "noop"}/' >"$WORK/jobs.ndjson"

suite() { # dsn flags...
  local dsn=$1; shift
  for args in "verify --expect present" "queue noop" "jobs" "jobs --history" "--headless dashboard" "backlog" "workers" "failed" "schedules"; do
    # shellcheck disable=SC2086
    PGDSN=$dsn $PGQ "$@" $args >/dev/null 2>&1
  done
}

drain() { # label dsn flags...
  local label=$1 dsn=$2; shift 2
  psql -q "$DIRECT" -c "TRUNCATE pgqueuer, pgqueuer_log, pgqueuer_statistics"
  PGDSN=$dsn $PGQ "$@" queue --batch "$WORK/jobs.ndjson" >/dev/null 2>&1
  PGDSN=$dsn $PGQ "$@" run "$MANIFEST" --mode drain --batch-size 10 --log-level ERROR
  # Exactly once, none left: every job logged successful once, the queue empty.
  local account
  account=$(psql -Atq "$DIRECT" -c "SELECT (SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status = 'successful')
    || ' ' || (SELECT count(*) FROM pgqueuer_log WHERE status = 'successful') || ' ' || (SELECT count(*) FROM pgqueuer)")
  if [ "$account" != "$JOBS $JOBS 0" ]; then
    echo "$label: expected $JOBS jobs done once and an empty queue; got (distinct, successful, left) $account" >&2
    exit 1
  fi
  local rate
  rate=$(psql -Atq "$DIRECT" -c "SELECT round(count(*) / extract(epoch FROM max(created) - min(created))::numeric)
    FROM pgqueuer_log WHERE status = 'successful'")
  local t0 t1
  t0=$(date +%s.%N); suite "$dsn" "$@"; t1=$(date +%s.%N)
  printf '%-16s %8s jobs/s   CLI suite %.2f s\n' "$label" "$rate" "$(echo "$t1 - $t0" | bc)"
}

echo "pgq worker drain of $JOBS no-op jobs, batch 10 ($PROFILE build), $REPEAT rounds:"
for _ in $(seq "$REPEAT"); do
  drain direct "$DIRECT"
  drain direct-unnamed "$DIRECT" --pooler transaction
  drain session "postgres://postgres@127.0.0.1:6541/$DB"
  drain transaction "postgres://postgres@127.0.0.1:6542/$DB" --pooler transaction
done
psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

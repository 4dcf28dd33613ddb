#!/usr/bin/env bash
# Benchmark: the latency a user feels. A separate producer (Python PGQueuer
# 1.6.0's enqueue, one job per statement, bench/latency_producer.py) offers
# no-op jobs at a steady RATE while one worker serves them; per job, from the
# log table's timestamps (tool-independent: the same rows whichever worker
# ran the job):
#   enqueue → pick        picked row − queued row
#   enqueue → completion  successful row − queued row
# p50 / p99 / max, for pgq (`pgq --headless run`, builtin noop) and Python
# PGQueuer 1.6.0 (bench/worker_python.py, asyncpg + uvloop) in the same run,
# each with one connection, batch size 10 and a 1 s dequeue timeout.
# Prints figures; never fails on speed.
#
#   bench/latency.sh [SECONDS] [RATES]   (defaults 10 and "100 1000")
#
# PGQ_LATENCY_PRODUCER=pgbench (the default when pgbench is installed) offers
# the jobs with `pgbench --rate` (Poisson arrivals at RATE, 4 clients), each
# transaction the single-job enqueue PGQueuer runs: the job row and its
# `queued` log row in one statement, whose INSERT fires the table's NOTIFY.
# PGQ_LATENCY_PRODUCER=python uses bench/latency_producer.py (Python
# PGQueuer's own enqueue), which tops out near 170 jobs/s on 2 cores.
#
# PGQ_LATENCY_ORDER="python pgq" runs Python first on each fresh database
# (default "pgq python"), to tell the order's effect from the worker's.
#
# A log row's `created` is its statement's transaction start (PostgreSQL
# now()), so enqueue → pick is from the producer's INSERT to the start of
# the dequeue statement that claimed the job.
#
# Needs: cargo, PostgreSQL at PGQ_BENCH_DSN (default
# postgres://postgres@127.0.0.1:5432/postgres), psql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-10}
RATES=${2:-100 1000}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_latency
DSN=${ADMIN%/*}/$DB
# PGQ_BIN: another pgq binary to measure (e.g. a build from before a change).
PGQ=${PGQ_BIN:-${CARGO_TARGET_DIR:-target}/release/pgq}
VENV=target/bench-venv
cargo build --release --quiet
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import uvloop, pgqueuer" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet pgqueuer==1.6.0 asyncpg uvloop typer==0.19.2
fi
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
$PGQ install 2>/dev/null
MANIFEST=$(mktemp --suffix=.toml)
WORKER_PID=
cleanup() {
  [ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2>/dev/null || true
  rm -f "$MANIFEST"
}
trap cleanup EXIT
printf '[[entrypoint]]\nname = "bench"\nbuiltin = "noop"\n' > "$MANIFEST"

sql() { psql "$DSN" -Atc "$1"; }

PRODUCER=${PGQ_LATENCY_PRODUCER:-$(command -v pgbench >/dev/null && echo pgbench || echo python)}
ENQUEUE_ONE=$(mktemp --suffix=.sql)
trap 'cleanup; rm -f "$ENQUEUE_ONE"' EXIT
echo "WITH job AS (INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'bench') RETURNING id, entrypoint, priority) INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority) SELECT id, 'queued', entrypoint, priority FROM job;" > "$ENQUEUE_ONE"

# Offers jobs at `$1`/s for `$2` s; prints the jobs sent and the rate achieved.
produce() {
  case $PRODUCER in
    pgbench)
      pgbench -n -M prepared -R "$1" -T "$2" -c 4 -j 2 -f "$ENQUEUE_ONE" "$DSN" >/dev/null 2>&1
      sent=$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'")
      echo "$sent $(( sent / $2 ))" ;;
    *) "$VENV/bin/python" bench/latency_producer.py "$1" "$2" ;;
  esac
}
echo "producer: $PRODUCER"

# Wait (up to 20 s) until `$1` prints "t".
wait_until() {
  for _ in $(seq 200); do
    [ "$(sql "$1")" = t ] && return 0
    sleep 0.1
  done
  echo "warning: gave up waiting for: $1" >&2
}

# Which worker runs first on the fresh database (the second finds it warm):
# PGQ_LATENCY_ORDER="python pgq" swaps them, to tell order from worker.
ORDER=${PGQ_LATENCY_ORDER:-pgq python}
printf "%-7s %6s %9s | %28s | %28s\n" worker "rate" "achieved" \
  "enqueue→pick ms p50/p99/max" "enqueue→done ms p50/p99/max"
for rate in $RATES; do
  for w in $ORDER; do
    sql "TRUNCATE pgqueuer; TRUNCATE pgqueuer_log; TRUNCATE pgqueuer_statistics" >/dev/null
    case $w in
      pgq) $PGQ --headless run "$MANIFEST" --batch-size 10 --dequeue-timeout 1 \
             --log-level warning & ;;
      python) "$VENV/bin/python" bench/worker_python.py continuous 10 3600 & ;;
    esac
    WORKER_PID=$!
    # Ready once it has served a warm-up job (connected, LISTENing).
    sql "INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'bench')" >/dev/null
    wait_until "SELECT count(*) > 0 FROM pgqueuer_log WHERE status = 'successful'"
    sql "TRUNCATE pgqueuer_log" >/dev/null
    read -r sent achieved < <(produce "$rate" "$SECONDS_RUN")
    wait_until "SELECT count(*) = $sent FROM pgqueuer_log WHERE status = 'successful'"
    kill "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
    WORKER_PID=
    figures=$(sql "
      WITH job AS (
        SELECT min(created) FILTER (WHERE status = 'queued') AS queued,
               min(created) FILTER (WHERE status = 'picked') AS picked,
               min(created) FILTER (WHERE status = 'successful') AS done
        FROM pgqueuer_log GROUP BY job_id),
      ms AS (
        SELECT extract(epoch FROM picked - queued) * 1000 AS pick,
               extract(epoch FROM done - queued) * 1000 AS done
        FROM job WHERE queued IS NOT NULL AND picked IS NOT NULL AND done IS NOT NULL)
      SELECT format('%s/%s/%s | %s/%s/%s',
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pick)::numeric, 1),
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY pick)::numeric, 1),
        round(max(pick)::numeric, 1),
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY done)::numeric, 1),
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY done)::numeric, 1),
        round(max(done)::numeric, 1))
      FROM ms")
    IFS='|' read -r pick done <<< "$figures"
    printf "%-7s %6s %9s | %28s | %28s\n" "$w" "$rate" "$achieved" "${pick// /}" "${done// /}"
  done
done

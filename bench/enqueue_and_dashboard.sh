#!/usr/bin/env bash
# Benchmark: bulk enqueue (pgq queue --batch vs Python Queries.enqueue in
# batches of 1000) and dashboard latency with 1,000,000 log rows and 100,000
# queued jobs. Prints figures; never fails on speed.
#
#   bench/enqueue_and_dashboard.sh [JOBS]      (default 200000)
#
# Needs: a release build (cargo build --release), PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres), python3 with pip.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-200000}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench
DSN=${ADMIN%/*}/$DB
PGQ=./target/release/pgq
VENV=target/bench-venv
[ -x "$PGQ" ] || cargo build --release
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet pgqueuer==1.6.0 asyncpg typer==0.19.2
fi
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
$PGQ install 2>/dev/null

echo "== bulk enqueue: $JOBS no-op jobs"
python3 - "$JOBS" > target/bench-jobs.ndjson <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"entrypoint": "bench", "payload": f"job {i}", "priority": i % 10}))
PY
start=$(date +%s.%N)
$PGQ queue --batch target/bench-jobs.ndjson 2>/dev/null
end=$(date +%s.%N)
pgq_rate=$(python3 -c "print(round($JOBS/($end-$start)))")
echo "pgq queue --batch      : $pgq_rate jobs/s (wall, incl. parsing and process start)"
psql "$DSN" -qc "TRUNCATE pgqueuer; TRUNCATE pgqueuer_log"

py_rate=$("$VENV/bin/python" - "$JOBS" <<'PY'
import asyncio, os, sys, time
import asyncpg
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries
N = int(sys.argv[1]); B = 1000
async def main():
    conn = await asyncpg.connect(os.environ["PGDSN"])
    q = Queries(AsyncpgDriver(conn))
    t = time.perf_counter()
    for s in range(0, N, B):
        n = min(B, N - s)
        await q.enqueue(["bench"] * n, [f"job {i}".encode() for i in range(s, s + n)], [i % 10 for i in range(s, s + n)])
    print(round(N / (time.perf_counter() - t)))
asyncio.run(main())
PY
)
echo "python Queries.enqueue : $py_rate jobs/s (batches of 1000, enqueue calls only)"
python3 -c "print(f'ratio pgq/python      : {$pgq_rate/$py_rate:.2f}x')"

echo "== dashboard: 1,000,000 log rows, 100,000 queued jobs"
psql "$DSN" -q <<'SQL'
TRUNCATE pgqueuer; TRUNCATE pgqueuer_log; TRUNCATE pgqueuer_statistics;
INSERT INTO pgqueuer (priority, status, entrypoint, payload)
  SELECT i % 10, 'queued', 'ep' || (i % 8), 'x' FROM generate_series(1, 100000) i;
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
  SELECT now() - (i % 86400) * interval '1 second', i,
         (ARRAY['successful','exception','picked','queued']::pgqueuer_status[])[1 + i % 4], i % 3, 'ep' || (i % 8), true
  FROM generate_series(1, 990000) i;
INSERT INTO pgqueuer_statistics (created, count, priority, status, entrypoint)
  SELECT date_trunc('sec', created), count(*), priority, status, entrypoint FROM pgqueuer_log
  GROUP BY 1, 3, 4, 5;
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint)
  SELECT now() - (i % 600) * interval '1 second', i, 'successful', i % 3, 'ep' || (i % 8)
  FROM generate_series(1, 10000) i;
VACUUM ANALYZE;
SQL
timeit() {
  local label=$1; shift
  local best=999999 total=0 runs=10
  for _ in $(seq $runs); do
    s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    ms=$(( (e - s) / 1000000 )); total=$((total + ms)); [ $ms -lt $best ] && best=$ms
  done
  echo "$label: best ${best} ms, mean $((total / runs)) ms (whole process: start, connect, query, print)"
}
timeit "pgq dashboard (10k unaggregated)" $PGQ --json dashboard
timeit "pgq backlog                     " $PGQ --json backlog
timeit "python pgq dashboard            " "$VENV/bin/pgq" dashboard
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

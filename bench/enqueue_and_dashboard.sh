#!/usr/bin/env bash
# Benchmark: bulk enqueue (pgq queue --batch vs Python Queries.enqueue in
# batches of 1000, plus pgbench running the same INSERT statements to show
# what the server itself can do) and dashboard latency with 1,000,000 log rows
# and 100,000 queued jobs. Prints figures; never fails on speed.
#
#   bench/enqueue_and_dashboard.sh [JOBS] [ROUNDS]   (default 200000, 3)
#
# Each round runs pgq and then Python on an emptied queue; the summary lines
# are medians over the rounds (on a shared machine single runs are noisy).
# PGQ_BENCH_SKIP_PGBENCH=1 leaves the pgbench lines out.
#
# Needs: a release build (cargo build --release), PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres), python3 with pip,
# pgbench (ships with PostgreSQL). PGQ_BENCH_DB names the scratch database
# (default pgq_bench; it is dropped and re-created).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-200000}
ROUNDS=${2:-3}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${PGQ_BENCH_DB:-pgq_bench}
DSN=${ADMIN%/*}/$DB
# Where cargo puts the release build (CARGO_TARGET_DIR, else ./target).
PGQ=${CARGO_TARGET_DIR:-target}/release/pgq
VENV=target/bench-venv
WORK=target/bench-work
[ -x "$PGQ" ] || cargo build --release
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet pgqueuer==1.6.0 asyncpg typer==0.19.2
fi
mkdir -p "$WORK"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
$PGQ install 2>/dev/null
empty() { psql "$DSN" -qc "TRUNCATE pgqueuer; TRUNCATE pgqueuer_log"; }
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

echo "== bulk enqueue: $JOBS no-op jobs, $ROUNDS rounds"
python3 - "$JOBS" > "$WORK/jobs.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"entrypoint": "bench", "payload": f"job {i}", "priority": i % 10}))
PY
cat > "$WORK/python_enqueue.py" <<'PY'
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
for f in pgq pgq-inner py ratio; do : > "$WORK/$f.rates"; done
for round in $(seq "$ROUNDS"); do
  empty
  start=$(date +%s.%N)
  # --no-analyze: Python's enqueue does not ANALYZE, so neither does this
  # comparison (pgq's default ANALYZE after 10,000+ jobs is timed below).
  seconds=$($PGQ --json queue --batch "$WORK/jobs.ndjson" --no-analyze \
    | python3 -c "import json, sys; print(json.load(sys.stdin)['seconds'])")
  end=$(date +%s.%N)
  rows=$(psql "$DSN" -Atc "SELECT (SELECT count(*) FROM pgqueuer) || '/' || (SELECT count(*) FROM pgqueuer_log)")
  [ "$rows" = "$JOBS/$JOBS" ] || { echo "pgq wrote $rows jobs/log rows, expected $JOBS/$JOBS" >&2; exit 1; }
  pgq_rate=$(python3 -c "print(round($JOBS / ($end - $start)))")
  pgq_inner=$(python3 -c "print(round($JOBS / $seconds))")
  empty
  py_rate=$("$VENV/bin/python" "$WORK/python_enqueue.py" "$JOBS")
  echo "  round $round: pgq $pgq_rate jobs/s (inserting: $pgq_inner), python $py_rate jobs/s," \
    "ratio $(python3 -c "print(f'{$pgq_rate / $py_rate:.2f}')")x"
  echo "$pgq_rate" >> "$WORK/pgq.rates"
  echo "$pgq_inner" >> "$WORK/pgq-inner.rates"
  echo "$py_rate" >> "$WORK/py.rates"
  python3 -c "print(round(1000 * $pgq_rate / $py_rate))" >> "$WORK/ratio.rates"
done
pgq_rate=$(median < "$WORK/pgq.rates")
pgq_inner=$(median < "$WORK/pgq-inner.rates")
py_rate=$(median < "$WORK/py.rates")
ratio=$(median < "$WORK/ratio.rates")
echo "pgq queue --batch      : $pgq_rate jobs/s (median; wall, whole process: start, read+check file, connect, insert)"
echo "                         $pgq_inner jobs/s (median; inserting only, as pgq reports it)"
echo "python Queries.enqueue : $py_rate jobs/s (median; batches of 1000, enqueue calls only)"
echo "ratio pgq/python      : $(python3 -c "print(f'{$ratio / 1000:.2f}')")x (median of the per-round ratios)"
# pgq's default after a large batch: the same load, then ANALYZE of the
# queue table (so the next dequeues plan with the new rows).
empty
start=$(date +%s.%N)
$PGQ queue --batch "$WORK/jobs.ndjson" > /dev/null
end=$(date +%s.%N)
echo "pgq queue --batch (default, with ANALYZE): $(python3 -c "print(round($JOBS / ($end - $start)))") jobs/s (one run; wall, whole process)"

if [ "${PGQ_BENCH_SKIP_PGBENCH:-0}" != 1 ] && command -v pgbench > /dev/null; then
  # The server's own limit: pgbench runs the INSERT statements with nothing
  # else, 1000 rows each, the arrays as constants of a prepared statement
  # (no client work; only pgq's drawn ids travel as a parameter), 5 s per
  # line. "pgq" is what pgq sends for a chunk of these jobs (no delays, no
  # headers): sql/draw_ids.sql, then sql/enqueue_fast.sql with the drawn ids
  # (\gset), both as `pgq sql statement` fills them; "python" is PGQueuer
  # 1.6.0's statement.
  $PGQ sql statement draw_ids > "$WORK/draw_ids.sql"
  $PGQ sql statement enqueue_fast > "$WORK/enqueue_fast.sql"
  python3 - "$WORK" <<'PY'
import sys
work, B = sys.argv[1], 1000
arr = lambda items: "'{" + ",".join(items) + "}'"
pri = arr(str(i % 10) for i in range(B))
ep = arr(["bench"] * B)
pl = arr('"\\\\x%s"' % f"job {i}".encode().hex() for i in range(B))
zero = arr(['"0 microseconds"'] * B)
nul = arr(["NULL"] * B)
hdr = arr(["null"] * B)
def pgq_file(name, params):
    # pgq's statement with its bind parameters replaced, highest first ($1 is
    # a prefix of $10).
    sql = open(f"{work}/{name}.sql").read().rstrip("\n")
    for n in sorted(params, reverse=True):
        assert f"${n}::" in sql, (name, n)
        sql = sql.replace(f"${n}::", f"{params[n]}::")
    return sql
draw = pgq_file("draw_ids", {1: str(B)})
# The draw's one column is array_agg: \gset stores it as :array_agg.
insert = pgq_file("enqueue_fast", {1: ":array_agg", 2: pri, 3: ep, 4: pl})
pgq = f"{draw} \\gset\n{insert};"
python = f"""WITH input AS MATERIALIZED (
  SELECT nextval((SELECT pg_get_serial_sequence('pgqueuer', 'id'))) AS id,
         priority, entrypoint, payload, execute_after, dedupe_key, headers, ord
  FROM UNNEST({pri}::int[], {ep}::text[], {pl}::bytea[], {zero}::interval[], {nul}::text[], {hdr}::jsonb[])
       WITH ORDINALITY AS t(priority, entrypoint, payload, execute_after, dedupe_key, headers, ord)),
inserted AS (
  INSERT INTO pgqueuer AS job (id, priority, entrypoint, payload, execute_after, dedupe_key, headers, status)
  SELECT id, priority, entrypoint, payload, execute_after + NOW(), dedupe_key, headers, 'queued' FROM input
  RETURNING id, entrypoint, priority, dedupe_key),
logged AS (
  INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)
  SELECT id, 'queued', entrypoint, priority FROM inserted WHERE id IN (SELECT id FROM input))
SELECT i.ord AS ord, ins.id AS id FROM inserted ins JOIN input i ON i.id = ins.id ORDER BY i.ord;"""
open(f"{work}/pgbench_pgq.sql", "w").write(pgq + "\n")
open(f"{work}/pgbench_python.sql", "w").write(" ".join(python.split("\n")) + "\n")
PY
  echo "pgbench, the same INSERTs of 1000 rows, server only (jobs/s):"
  for spec in python:1 pgq:1 pgq:2 pgq:3; do
    shape=${spec%:*}
    clients=${spec#*:}
    empty
    tps=$(pgbench -n -M prepared -f "$WORK/pgbench_$shape.sql" -c "$clients" -j "$clients" -T 5 "$DSN" 2>&1 \
      | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
    printf '  %-6s statement, %d connection(s): %s\n' "$shape" "$clients" \
      "$(python3 -c "print(round(${tps:-0} * 1000))")"
  done
  echo "  (2x python would need $((2 * py_rate)) jobs/s)"
fi

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

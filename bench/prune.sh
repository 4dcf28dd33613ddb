#!/usr/bin/env bash
# Benchmark: `pgq prune --log-older-than 30d` on a log of ROWS old,
# aggregated rows (plus 100,000 recent rows and 10,000 old unaggregated
# ones, which must stay). Prints the plan of one batch, rows/s and the
# longest batch, i.e. the longest time one batch's transaction held its row
# locks. Prints figures; never fails on speed.
#
#   bench/prune.sh [ROWS] [BATCH]   (defaults 5000000, 10000)
#
# PGQ=path picks the binary (default $CARGO_TARGET_DIR/release/pgq or
# ./target/release/pgq, built if missing). Needs PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres), psql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-5000000}
BATCH=${2:-10000}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_prune
DSN=${ADMIN%/*}/$DB
PGQ=${PGQ:-${CARGO_TARGET_DIR:-./target}/release/pgq}
[ -x "$PGQ" ] || cargo build --release --quiet
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
trap 'psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
export PGDSN=$DSN
$PGQ install 2>/dev/null

# One row a second from 90 days ago: 5,000,000 rows end ~32 days ago.
seed_start=$(date +%s.%N)
psql "$DSN" -q <<SQL
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
  SELECT now() - interval '90 days' + g * interval '1 second', g,
         'successful', g % 10, 'ep_' || (g % 5), true
  FROM generate_series(1, $ROWS) AS g;
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
  SELECT now() - interval '40 days' + g * interval '1 ms', g, 'successful', 0, 'ep_0', false
  FROM generate_series(1, 10000) AS g;
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
  SELECT now() - interval '1 day' + g * interval '1 ms', g, 'successful', 0, 'ep_0', true
  FROM generate_series(1, 100000) AS g;
VACUUM ANALYZE pgqueuer_log;
SQL
seed_end=$(date +%s.%N)
size=$(psql "$DSN" -Atc "SELECT pg_size_pretty(pg_total_relation_size('pgqueuer_log'))")
echo "seeded $ROWS old + 110,000 other log rows ($size) in $(python3 -c "print(f'{$seed_end - $seed_start:.1f}')") s"

echo "--- plan of one batch (first batch: \$4 NULL)"
psql "$DSN" -At <<SQL
PREPARE batch(timestamptz, text[], bigint, timestamptz) AS
$($PGQ sql statement prune_log_batch);
EXPLAIN (COSTS OFF) EXECUTE batch(now() - interval '30 days', NULL, $BATCH, NULL);
SQL

echo "--- pgq prune --log-older-than 30d --batch-size $BATCH"
start=$(date +%s.%N)
report=$($PGQ --json prune --log-older-than 30d --batch-size "$BATCH")
end=$(date +%s.%N)
left=$(psql "$DSN" -Atc "SELECT count(*) FROM pgqueuer_log")
python3 - "$report" "$start" "$end" "$left" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
wall = float(sys.argv[3]) - float(sys.argv[2])
log = r["log"]
print(f"deleted {log['deleted']:,} rows in {log['batches']:,} batches, "
      f"held back {log['held_back']:,} unaggregated; {int(sys.argv[4]):,} rows left")
print(f"wall {wall:.1f} s (counting included), {log['deleted'] / wall:,.0f} rows/s")
print(f"longest batch (its locks' hold time) {log['max_batch_ms']:.0f} ms")
PY

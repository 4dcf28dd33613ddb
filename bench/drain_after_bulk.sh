#!/usr/bin/env bash
# Benchmark: the first drain right after a bulk enqueue, with and without the
# ANALYZE that `queue --batch` runs after 10,000 or more new jobs. Prints
# figures; never fails on speed.
#
#   bench/drain_after_bulk.sh [JOBS] [WINDOW] [ROUNDS]   (defaults 50000, 10, 3)
#
# The statistics are made stale the way a busy server has them: the queue
# table was last analyzed after a drain (no live rows, pages left), and
# autovacuum is off for it (standing in for autovacuum that lags behind).
# Each round, for both variants (--no-analyze, then the default):
# re-create that state, `queue --batch` JOBS jobs, then run a worker
# (`run --mode drain`, batch size 10) for WINDOW seconds. jobs/s is measured
# in the database (first pick to last completion in the window). Medians over
# the rounds are printed.
#
# PGQ=path picks the binary (default ./target/release/pgq, built if
# missing); a binary without --no-analyze (before the ANALYZE) runs the
# first variant only. Needs PostgreSQL at PGQ_BENCH_DSN (default
# postgres://postgres@127.0.0.1:5432/postgres), psql, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-50000}
WINDOW=${2:-10}
ROUNDS=${3:-3}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_drain
DSN=${ADMIN%/*}/$DB
PGQ=${PGQ:-./target/release/pgq}
[ -x "$PGQ" ] || cargo build --release --quiet
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
$PGQ install 2>/dev/null
printf '[[entrypoint]]\nname = "bench"\nbuiltin = "noop"\n' > "$WORK/workers.toml"
python3 - "$JOBS" > "$WORK/jobs.ndjson" <<'PY'
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"entrypoint": "bench", "payload": f"job {i}", "priority": i % 10}))
PY
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }

# Last analyzed after a drain: 20,000 rows written and completed (deleted),
# then ANALYZE as autovacuum's autoanalyze would: 0 live rows over the pages
# left behind, so the planner expects about one row whatever is added.
stale_state() {
  psql "$DSN" -q <<'SQL'
TRUNCATE pgqueuer; TRUNCATE pgqueuer_log; TRUNCATE pgqueuer_statistics;
ALTER TABLE pgqueuer SET (autovacuum_enabled = false);
INSERT INTO pgqueuer (priority, status, entrypoint, payload)
  SELECT 0, 'queued', 'bench', NULL FROM generate_series(1, 20000);
DELETE FROM pgqueuer;
ANALYZE pgqueuer;
SQL
}

variants=("--no-analyze" "")
if ! $PGQ queue --help | grep -q -- --no-analyze; then
  variants=("")
  echo "note: $PGQ has no --no-analyze (it never analyzes): one variant only"
fi
echo "== drain right after queue --batch of $JOBS jobs: worker batch 10, ${WINDOW}s window, $ROUNDS rounds"
for round in $(seq "$ROUNDS"); do
  for flag in "${variants[@]}"; do
    stale_state
    # shellcheck disable=SC2086 # $flag is one word or nothing
    $PGQ queue --batch "$WORK/jobs.ndjson" $flag 2> "$WORK/batch.err" > /dev/null
    analyzed=$(grep -c '^Analyzed' "$WORK/batch.err" || true)
    timeout --foreground --signal=TERM "$WINDOW" \
      $PGQ run "$WORK/workers.toml" --mode drain --batch-size 10 --dequeue-timeout 1 --log-level warning \
      || true
    read -r done rate < <(psql "$DSN" -Atc "
      SELECT count(*), round(count(*) / greatest(extract(epoch FROM max(created) - min(created)), 0.001))
      FROM pgqueuer_log WHERE status = 'successful'" | tr '|' ' ')
    label=${flag:-default}
    echo "  round $round, ${label} (analyzed: $analyzed): $rate jobs/s ($done jobs completed)"
    echo "$rate" >> "$WORK/rates${flag}"
  done
done
for flag in "${variants[@]}"; do
  printf '%-14s: %s jobs/s (median)\n' "${flag:-default}" "$(median < "$WORK/rates${flag}")"
done
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

#!/usr/bin/env bash
# Latency percentiles at scale: seeds ROWS log rows (default 5,000,000) over
# the last hour (jobs logged queued → picked → successful, 8 entrypoints),
# then times pgq's statement (sql/latency_percentiles.sql: execution and wait
# percentiles, per 60 slices as the Stats tab asks and as one slice) and Python
# PGQueuer 1.6.0's job_duration_percentiles on the same database, for
# 5-minute and 1-hour windows. Best of REPEAT runs (default 3). Prints figures; never fails
# on speed. No index is added to PGQueuer's tables.
#
#   bench/latency_percentiles.sh [ROWS] [REPEAT]
#
# Needs: cargo, psql, python3, PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-5000000}
REPEAT=${2:-3}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_latency_percentiles
DSN=${ADMIN%/*}/$DB
PGQ=${CARGO_TARGET_DIR:-target}/release/pgq
VENV=${CARGO_TARGET_DIR:-target}/bench-venv
cargo build --release --quiet --bin pgq
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pgqueuer" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet pgqueuer==1.6.0 asyncpg typer==0.19.2
fi

psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DSN $PGQ install >/dev/null
JOBS=$((ROWS / 3))
# Job i is queued at an even spread over the hour, waits 0–2 s, runs
# 10 ms–5 s (a long tail on one entrypoint in eight).
psql "$DSN" -q -v jobs="$JOBS" <<'SQL'
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
SELECT now() - interval '1 hour' + (i * 3600.0 / :jobs) * interval '1 second'
         + CASE s WHEN 'queued' THEN interval '0'
                  WHEN 'picked' THEN wait
                  ELSE wait + run END,
       i, s::pgqueuer_status, i % 3, 'ep' || (i % 8), true
FROM generate_series(1, :jobs) i,
     LATERAL (SELECT (i % 2000) * interval '1 millisecond' AS wait,
                     (10 + (i::bigint * 7919) % CASE WHEN i % 8 = 0 THEN 5000 ELSE 500 END)
                       * interval '1 millisecond' AS run) d,
     unnest(ARRAY['queued', 'picked', 'successful']) s;
VACUUM ANALYZE pgqueuer_log;
SQL
echo "Seeded $(psql "$DSN" -tAc 'SELECT count(*) FROM pgqueuer_log') log rows over the last hour"

# Best wall time of REPEAT runs of one statement, in ms (psql \timing).
best_ms() {
  local sql=$1 best=
  for _ in $(seq "$REPEAT"); do
    # The last \timing line is the EXECUTE's.
    t=$(printf '\\timing on\n%s\n' "$sql" | psql "$DSN" -qAt -o /dev/null \
        | awk '/^Time:/ {t = $2} END {print t}')
    best=$(python3 -c "print(min(x for x in [$t, ${best:-$t}]))")
  done
  echo "$best"
}

percentiles=$(PGDSN=$DSN $PGQ sql statement latency_percentiles)
for window in 300 3600; do
  label=$([ "$window" = 300 ] && echo "5 min" || echo "1 h")
  slice=$(python3 -c "print($window / 60)")
  durations=$(psql "$DSN" -tAc "SELECT count(*) FROM pgqueuer_log WHERE created > now() - make_interval(secs => $window)")
  console=$(best_ms "PREPARE p(float8, float8, int) AS $percentiles; EXECUTE p($window, $slice, 60);")
  totals=$(best_ms "PREPARE p(float8, float8, int) AS $percentiles; EXECUTE p($window, $window, 1);")
  py=
  for _ in $(seq "$REPEAT"); do
    t=$(PGDSN=$DSN WINDOW_SECONDS=$window "$VENV/bin/python" tests/fixtures/duration_percentiles.py 2>&1 >/dev/null \
        | awk '/^elapsed_ms/ {print $2}')
    py=$(python3 -c "print(min(x for x in [$t, ${py:-$t}]))")
  done
  echo "window $label ($durations log rows): pgq execution + wait, 60 slices (Stats tab) ${console} ms;" \
       "1 slice (LatencyPercentiles) ${totals} ms; Python job_duration_percentiles (execution only) ${py} ms"
done

#!/usr/bin/env bash
# Console benchmark: frame times per tab, the Stats refresh query with
# 1,000,000 log rows and 100,000 queued jobs, and the real console's idle
# CPU and resident memory over IDLE_SECONDS (default 60) in a tmux pane.
# Prints figures; never fails on speed.
#
#   bench/console.sh
#
# Needs: tmux, PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
IDLE=${IDLE_SECONDS:-60}
DB=pgq_bench_console
DSN=${ADMIN%/*}/$DB
cargo build --release --quiet --bin pgq --example console_bench
PGQ=./target/release/pgq

psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DSN $PGQ install >/dev/null 2>&1
psql "$DSN" -q <<'SQL'
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
echo "Seeded: 100,000 queued jobs; 1,000,000 log rows (10,000 not aggregated); $(psql "$DSN" -tAc 'SELECT count(*) FROM pgqueuer_statistics') statistics rows"
./target/release/examples/console_bench "$DSN"

echo
echo "Idle console for ${IDLE}s (Stats tab live on the seeded database, 5 s refresh):"
dir=$(mktemp -d)
tmux kill-session -t pgq_bench 2>/dev/null || true
tmux new-session -d -s pgq_bench -x 100 -y 30 \
  "PGQ_CONFIG_DIR=$dir PGQ_DATA_DIR=$dir $PGQ --dsn '$DSN'"
sleep 3
pid=$(pgrep -n -f "$PGQ --dsn $DSN")
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep "$IDLE"
c1=$(cpu); t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
python3 -c "print(f'  CPU: {($c1-$c0)/$ticks:.2f} s over {$t1-$t0:.0f} s = {100*($c1-$c0)/$ticks/($t1-$t0):.2f}% of one core')"
echo "  memory: RSS $((rss / 1024)) MiB, peak $((hwm / 1024)) MiB"
tmux send-keys -t pgq_bench q
sleep 1
tmux kill-session -t pgq_bench 2>/dev/null || true
rm -rf "$dir"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

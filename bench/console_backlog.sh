#!/usr/bin/env bash
# A console over a large backlog: BACKLOG queued jobs (one entrypoint) make
# the Stats tab's depth read slow (a count over the whole queue table);
# pgbench churns RATE jobs/s of another entrypoint (an INSERT and a DELETE
# each, so the queue changes and the console wants to refresh). Measures the
# CPU of the console's server backends over SECONDS: what one console open
# on Stats costs PostgreSQL. Prints figures; never fails on speed.
#
#   bench/console_backlog.sh [BACKLOG] [SECONDS] [RATE]
#                            (defaults 2000000, 30, 100)
#
# PGQ_BIN: another pgq binary to measure (e.g. a build from before a change).
# Needs: tmux, pgbench, psql, PostgreSQL on this machine at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres; backend CPU is read
# from /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
BACKLOG=${1:-2000000}
SECONDS_RUN=${2:-30}
RATE=${3:-100}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_console_backlog
DSN=${ADMIN%/*}/$DB
if [ -z "${PGQ_BIN:-}" ]; then
  cargo build --release --quiet --bin pgq
fi
PGQ=$(realpath "${PGQ_BIN:-${CARGO_TARGET_DIR:-target}/release/pgq}")
SESSION=pgq_backlog

psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DSN "$PGQ" install >/dev/null 2>&1
sql() { psql "$DSN" -Atc "$1"; }
sql "INSERT INTO pgqueuer (priority, status, entrypoint) SELECT 0, 'queued', 'backlog' FROM generate_series(1, $BACKLOG)" >/dev/null
sql "VACUUM ANALYZE pgqueuer" >/dev/null
depth_ms=$(psql "$DSN" -At -c '\timing on' -c "SELECT entrypoint, count(*) FILTER (WHERE status = 'queued') FROM pgqueuer GROUP BY entrypoint" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')

script=$(mktemp)
cleanup() {
  tmux kill-session -t "$SESSION" 2>/dev/null || true
  [ -n "${PRODUCER_PID:-}" ] && kill "$PRODUCER_PID" 2>/dev/null || true
  rm -f "$script"
}
trap cleanup EXIT
cat >"$script" <<'SQL'
INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'churn');
DELETE FROM pgqueuer WHERE entrypoint = 'churn';
SQL

tmux new-session -d -s "$SESSION" -x 120 -y 30 "PGDSN=$DSN $PGQ"
sleep 3
pgbench -n -R "$RATE" -T $((SECONDS_RUN + 15)) -f "$script" "$DSN" >/dev/null 2>&1 &
PRODUCER_PID=$!
sleep 8
# The console's own connections (not the short-lived ones it may open).
pids=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgq' AND backend_start < now() - interval '5 s'")
ticks() {
  local sum=0 v
  for p in $pids; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    sum=$((sum + v))
  done
  echo "$sum"
}
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep "$SECONDS_RUN"
t1=$(ticks)
echo "console over a backlog: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary $PGQ"
echo "backlog $BACKLOG jobs (depth read ${depth_ms} ms), churn $RATE jobs/s, ${SECONDS_RUN} s on Stats"
python3 -c "print(f'server CPU for the console: {($t1 - $t0) / $hz / $SECONDS_RUN * 100:.1f} % of a core')"
tmux capture-pane -pt "$SESSION" | tail -2 | head -1

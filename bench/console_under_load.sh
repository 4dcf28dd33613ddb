#!/usr/bin/env bash
# Consoles under load: the CPU a console uses while a producer enqueues RATE
# jobs/s (pgbench, one job per transaction, as bench/latency.sh) and a pgq
# worker drains them, so ~2×RATE NOTIFY/s reach it (an insert and a delete
# per job); and a worker's pick latency (enqueue → pick p50/p99) with that
# many consoles open. Each console runs in a tmux pane (100×30) on TAB (a
# key: 1 Stats, 2 Jobs, 3 Events); its CPU comes from /proc/PID/stat over
# SECONDS. Prints figures; never fails on speed.
#
#   bench/console_under_load.sh [SECONDS] [RATE] [CONSOLES] [TAB]
#                               (defaults 30, 200, 1, 1)
#
# PGQ_BIN: another pgq binary to measure (e.g. a build from before a change).
# Needs: tmux, pgbench, psql, PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-30}
RATE=${2:-200}
CONSOLES=${3:-1}
TAB=${4:-1}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_console_load
DSN=${ADMIN%/*}/$DB
if [ -z "${PGQ_BIN:-}" ]; then
  cargo build --release --quiet --bin pgq
fi
PGQ=$(realpath "${PGQ_BIN:-${CARGO_TARGET_DIR:-target}/release/pgq}")
WARMUP=3

psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DSN "$PGQ" install >/dev/null 2>&1
sql() { psql "$DSN" -Atc "$1"; }

dir=$(mktemp -d)
WORKER_PID=
PRODUCER_PID=
cleanup() {
  for i in $(seq "$CONSOLES"); do tmux kill-session -t "pgq_load_$i" 2>/dev/null || true; done
  [ -n "$PRODUCER_PID" ] && kill "$PRODUCER_PID" 2>/dev/null || true
  [ -n "$WORKER_PID" ] && kill "$WORKER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
  psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT
printf '[[entrypoint]]\nname = "bench"\nbuiltin = "noop"\n' > "$dir/worker.toml"
echo "WITH job AS (INSERT INTO pgqueuer (priority, status, entrypoint) VALUES (0, 'queued', 'bench') RETURNING id, entrypoint, priority) INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority) SELECT id, 'queued', entrypoint, priority FROM job;" > "$dir/enqueue.sql"

PGDSN=$DSN "$PGQ" --headless run "$dir/worker.toml" --batch-size 10 --dequeue-timeout 1 \
  --log-level warning &
WORKER_PID=$!

pids=()
for i in $(seq "$CONSOLES"); do
  tmux kill-session -t "pgq_load_$i" 2>/dev/null || true
  # exec: the pane's process is the console itself.
  tmux new-session -d -s "pgq_load_$i" -x 100 -y 30 \
    "exec env PGQ_CONFIG_DIR=$dir PGQ_DATA_DIR=$dir $PGQ --dsn '$DSN'"
  pids+=("$(tmux display -p -t "pgq_load_$i" '#{pane_pid}')")
done
sleep 1
for i in $(seq "$CONSOLES"); do tmux send-keys -t "pgq_load_$i" "$TAB"; done

pgbench -n -M prepared -R "$RATE" -T $((SECONDS_RUN + WARMUP + 2)) -c 4 -j 2 \
  -f "$dir/enqueue.sql" "$DSN" >/dev/null 2>&1 &
PRODUCER_PID=$!
sleep "$WARMUP"

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=(); for p in "${pids[@]}"; do c0+=("$(cpu "$p")"); done
t0=$(date +%s.%N)
done0=$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
sql "SELECT now()" > "$dir/window_start"
sleep "$SECONDS_RUN"
t1=$(date +%s.%N)
done1=$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'")
c1=(); for p in "${pids[@]}"; do c1+=("$(cpu "$p")"); done

echo "pgq: $PGQ"
python3 - "$ticks" "$t0" "$t1" "$done0" "$done1" "${c0[*]}" "${c1[*]}" <<'PY'
import sys
ticks, t0, t1, d0, d1 = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
span = t1 - t0
rate = (d1 - d0) / span
print(f"load: {rate:.0f} jobs/s done over {span:.0f} s (~{2 * rate:.0f} NOTIFY/s: insert + delete)")
c0 = [float(x) for x in sys.argv[6].split()]
c1 = [float(x) for x in sys.argv[7].split()]
shares = [100 * (b - a) / ticks / span for a, b in zip(c0, c1)]
if shares:
    print(f"consoles: {len(shares)}; CPU per console: mean {sum(shares) / len(shares):.2f}% "
          f"max {max(shares):.2f}% of one core")
PY
echo "worker enqueue→pick ms (p50/p99/max): $(sql "
  WITH job AS (
    SELECT min(created) FILTER (WHERE status = 'queued') AS queued,
           min(created) FILTER (WHERE status = 'picked') AS picked
    FROM pgqueuer_log GROUP BY job_id),
  ms AS (SELECT extract(epoch FROM picked - queued) * 1000 AS pick FROM job
         WHERE queued >= '$(cat "$dir/window_start")' AND picked IS NOT NULL)
  SELECT format('%s/%s/%s',
    round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pick)::numeric, 1),
    round(percentile_cont(0.99) WITHIN GROUP (ORDER BY pick)::numeric, 1),
    round(max(pick)::numeric, 1))
  FROM ms")"

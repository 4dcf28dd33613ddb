#!/usr/bin/env bash
# Console with a 10 MB payload open in the Jobs tab's detail: how long it
# takes to open, CPU while idle, while scrolling and while the queue changes
# (each change refreshes the open detail), resident memory (steady and peak),
# and whether G reaches the last line. The real binary runs in a 120×40 tmux
# pane. Prints figures; never fails on speed.
#
#   bench/console_big_payload.sh                    # builds and measures the release binary
#   bench/console_big_payload.sh --pgq PATH         # any other build (or PGQ=PATH)
#
# Needs: tmux, psql, PostgreSQL at PGQ_BENCH_DSN
# (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
IDLE=${IDLE_SECONDS:-20}
if [ "${1:-}" = --pgq ]; then
  PGQ=${2:?--pgq needs the path of a pgq binary}
fi
# Names of this run only: another run (another worktree) may be going on.
DB=pgq_bench_big_payload_$$
DSN=${ADMIN%/*}/$DB
SESSION=pgq_big_payload_$$
if [ -z "${PGQ:-}" ]; then
  cargo build --release --quiet --bin pgq
  PGQ=./target/release/pgq
fi

psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DSN $PGQ install >/dev/null 2>&1
# One job whose payload is a 10 MB JSON array: about 240,000 objects, so
# about 1,200,000 lines once pretty-printed; the last object is marked.
psql "$DSN" -q <<'SQL'
INSERT INTO pgqueuer (priority, status, entrypoint, payload)
SELECT 0, 'queued', 'big', convert_to(
  '[' || string_agg(format('{"n":%s,"name":"item-%s","ok":true}', i,
                           CASE WHEN i = 240000 THEN 'LAST' ELSE i::text END), ',')
      || ']', 'UTF8')
FROM generate_series(1, 240000) i;
SQL
echo "Payload: $(psql "$DSN" -tAc 'SELECT pg_size_pretty(sum(length(payload))::bigint) FROM pgqueuer')"

dir=$(mktemp -d)
tmux kill-session -t $SESSION 2>/dev/null || true
tmux new-session -d -s $SESSION -x 120 -y 40 \
  "PGQ_CONFIG_DIR=$dir PGQ_DATA_DIR=$dir $PGQ --dsn '$DSN'"
# Wait (with a deadline) for what each step shows, never a fixed time.
wait_for() {
  for _ in $(seq 1 600); do
    tmux capture-pane -p -t $SESSION | grep -q -- "$1" && return 0
    sleep 0.1
  done
  echo "timed out waiting for: $1" >&2
  tmux capture-pane -p -t $SESSION >&2
  exit 1
}
wait_for "1 Stats"
pid=$(pgrep -n -f "$PGQ --dsn $DSN")
tmux send-keys -t $SESSION 2
wait_for " big "
t0=$(date +%s.%N)
tmux send-keys -t $SESSION Enter
wait_for "y copies it"
t1=$(date +%s.%N)
python3 -c "print(f'  detail opened in {$t1-$t0:.2f} s')"
kib() { awk "/$1/ {print \$2}" "/proc/$pid/status"; }
echo "  memory with the detail open: RSS $(($(kib VmRSS) / 1024)) MiB, peak $(($(kib VmHWM) / 1024)) MiB"

ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
measure() { # label, seconds, command run meanwhile
  local c0 t0 c1 t1
  c0=$(cpu); t0=$(date +%s.%N)
  eval "$3"
  c1=$(cpu); t1=$(date +%s.%N)
  python3 -c "print(f'  $1: {100*($c1-$c0)/$ticks/($t1-$t0):.2f}% of one core over {$t1-$t0:.0f} s')"
}
measure "idle with the detail open" "$IDLE" "sleep $IDLE"
scroll() {
  local end=$(($(date +%s) + IDLE))
  while [ "$(date +%s)" -lt "$end" ]; do
    tmux send-keys -t $SESSION j j j j j PageDown
    sleep 0.05
  done
}
measure "scrolling (j and PageDown, 20 keys/s)" "$IDLE" scroll
# Another job enqueued twice a second: each change refreshes the open
# detail (at most once a second), whose payload has not changed.
churn() {
  local end=$(($(date +%s) + IDLE))
  while [ "$(date +%s)" -lt "$end" ]; do
    psql "$DSN" -qc "INSERT INTO pgqueuer (priority, status, entrypoint, payload) VALUES (0, 'queued', 'other', NULL)"
    sleep 0.5
  done
}
measure "queue changing (2 jobs/s) with the detail open" "$IDLE" churn
echo "  memory: RSS $(($(kib VmRSS) / 1024)) MiB, peak $(($(kib VmHWM) / 1024)) MiB"
tmux send-keys -t $SESSION G
if (wait_for '"name": "item-LAST"') 2>/dev/null; then
  echo "  G: the payload's last object is on screen"
else
  echo "  G: the payload's last object is NOT reachable"
fi
tmux send-keys -t $SESSION Escape
wait_gone() {
  for _ in $(seq 1 600); do
    tmux capture-pane -p -t $SESSION | grep -q -- "$1" || return 0
    sleep 0.1
  done
  echo "timed out waiting for the end of: $1" >&2
  exit 1
}
wait_gone "y copies it"
echo "  memory with the detail closed: RSS $(($(kib VmRSS) / 1024)) MiB"
tmux send-keys -t $SESSION q
tmux kill-session -t $SESSION 2>/dev/null || true
rm -rf "$dir"
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

#!/usr/bin/env bash
# The second fault audit's cancel scenario, as a benchmark that prints what
# happened: two `pgq run` workers (batch 100; batch 10 with two dequeue
# connections) and one Python PGQueuer 1.6.0 worker drain JOBS no-op jobs;
# after 2 s an operator runs `pgq cancel --entrypoint fast --yes` (odd rounds:
# `--status queued`; every third: `pgq purge`). ROUNDS rounds. Printed per
# round: the removal's exit status and count, the workers still alive, jobs
# logged exactly once; at the end PostgreSQL's own deadlock counter.
#
# Usage: bench/cancel_during_drain.sh [ROUNDS=10] [JOBS=60000]
# Needs PostgreSQL at $PGQ_BENCH_DSN (default postgres://postgres@127.0.0.1:5432/postgres),
# psql, python3 (a venv with pgqueuer==1.6.0 is made under target/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-10}
JOBS=${2:-60000}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_cancel
DSN=${ADMIN%/*}/$DB
PGQ=${PGQ:-${CARGO_TARGET_DIR:-target}/release/pgq}
VENV=target/bench-venv
[ -x "$PGQ" ] || cargo build --release --quiet
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pgqueuer" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet pgqueuer==1.6.0 asyncpg
fi
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
"$PGQ" install >/dev/null 2>&1
MANIFEST=$(mktemp --suffix=.toml)
LOGS=$(mktemp -d)
printf '[[entrypoint]]\nname = "fast"\nbuiltin = "noop"\n' > "$MANIFEST"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$MANIFEST" "$LOGS"; }
trap cleanup EXIT
"$PGQ" --headless run "$MANIFEST" --batch-size 100 2>"$LOGS/w1.log" & pids+=($!)
"$PGQ" --headless run "$MANIFEST" --batch-size 10 --dequeue-connections 2 2>"$LOGS/w2.log" & pids+=($!)
"$VENV/bin/python" -c "$(cat tests/fixtures/noop_worker.py)" >/dev/null 2>"$LOGS/py.log" & pids+=($!)
sleep 2
q() { psql "$DSN" -Atqc "$1"; }
failed_rounds=0
for round in $(seq 1 "$ROUNDS"); do
  q "INSERT INTO pgqueuer (priority, status, entrypoint) SELECT g % 3, 'queued', 'fast' FROM generate_series(1, $JOBS) g" >/dev/null
  sleep 2
  case $((round % 3)) in
    1) args=(cancel --entrypoint fast --yes) ;;
    2) args=(cancel --entrypoint fast --status queued --yes) ;;
    0) args=(purge --entrypoint fast --yes) ;;
  esac
  set +e
  out=$("$PGQ" --json "${args[@]}" 2>"$LOGS/removal.err"); code=$?
  set -e
  for _ in $(seq 1 600); do [ "$(q "SELECT count(*) FROM pgqueuer")" = 0 ] && break; sleep 0.1; done
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  twice=$(q "SELECT count(*) FROM (SELECT job_id FROM pgqueuer_log WHERE status IN ('successful','canceled','deleted','exception') GROUP BY job_id HAVING count(*) > 1) t")
  left=$(q "SELECT count(*) FROM pgqueuer")
  [ "$code" = 0 ] && [ "$alive" = 3 ] && [ "$twice" = 0 ] && [ "$left" = 0 ] || failed_rounds=$((failed_rounds + 1))
  printf 'round %2d  %-34s exit %s  %s  workers alive %d/3  logged twice %s  left %s\n' \
    "$round" "${args[*]}" "$code" "$(echo "$out" | tr -d '\n' | cut -c1-60)" "$alive" "$twice" "$left"
done
total=$((ROUNDS * JOBS))
once=$(q "SELECT count(DISTINCT job_id) FROM pgqueuer_log WHERE status IN ('successful','canceled','deleted','exception')")
kill -TERM "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
sleep 1
deadlocks=$(psql "$ADMIN" -Atqc "SELECT deadlocks FROM pg_stat_database WHERE datname = '$DB'")
echo "jobs $total, logged with one outcome $once; rounds with a failure $failed_rounds of $ROUNDS"
echo "deadlocks (pg_stat_database): $deadlocks; 'deadlock' in worker logs: $(cat "$LOGS"/*.log | grep -ci deadlock || true)"

#!/usr/bin/env bash
# Benchmark: the HTTP executor. Drains JOBS jobs whose entrypoint POSTs to a
# local no-op HTTP service (examples/noop_http.rs: 200, empty body, one
# thread), beside the same drain with the builtin noop handler, at batch 10
# and 100. Prints figures; never fails on speed.
#
#   bench/http_executor.sh [JOBS] [REPEAT]   (defaults 20000 and 3)
#
# jobs/s is measured in the database (first to last log row of the drain,
# from pgqueuer_log, as bench/worker.sh does), best of REPEAT runs; the
# payload is 64 bytes, so each request carries a body.
#
# Needs: cargo, PostgreSQL at PGQ_BENCH_DSN (default
# postgres://postgres@127.0.0.1:5432/postgres), psql.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-20000}
REPEAT=${2:-3}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_http
DSN=${ADMIN%/*}/$DB
TARGET=${CARGO_TARGET_DIR:-target}
PGQ=$TARGET/release/pgq
cargo build --release --quiet
cargo build --release --quiet --example noop_http
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
$PGQ install 2>/dev/null

ADDR_FILE=$(mktemp)
"$TARGET/release/examples/noop_http" > "$ADDR_FILE" &
SERVER=$!
HTTP_MANIFEST=$(mktemp --suffix=.toml)
NOOP_MANIFEST=$(mktemp --suffix=.toml)
trap 'kill $SERVER 2>/dev/null; rm -f "$ADDR_FILE" "$HTTP_MANIFEST" "$NOOP_MANIFEST"' EXIT
for _ in $(seq 100); do [ -s "$ADDR_FILE" ] && break; sleep 0.1; done
ADDR=$(head -n 1 "$ADDR_FILE")
printf '[[entrypoint]]\nname = "bench"\nurl = "http://%s/jobs"\ntimeout = "10s"\n' "$ADDR" > "$HTTP_MANIFEST"
printf '[[entrypoint]]\nname = "bench"\nbuiltin = "noop"\n' > "$NOOP_MANIFEST"

reset_queue() { # $1 = jobs to enqueue
  psql "$DSN" -q <<SQL
TRUNCATE pgqueuer; TRUNCATE pgqueuer_log; TRUNCATE pgqueuer_statistics;
INSERT INTO pgqueuer (priority, status, entrypoint, payload)
  SELECT 0, 'queued', 'bench', convert_to(repeat('x', 64), 'UTF8') FROM generate_series(1, $1);
VACUUM ANALYZE pgqueuer; VACUUM ANALYZE pgqueuer_log;
SQL
}

echo "== drain: $JOBS jobs, no-op HTTP service at $ADDR"
printf "%-8s %6s %10s %10s\n" handler batch "jobs/s" "failed"
for batch in 10 100; do
  for handler in http noop; do
    manifest=$HTTP_MANIFEST
    [ $handler = noop ] && manifest=$NOOP_MANIFEST
    best=0; failed=0
    for _ in $(seq "$REPEAT"); do
      reset_queue "$JOBS"
      $PGQ --headless run "$manifest" --mode drain --batch-size "$batch" --dequeue-timeout 1 \
        --log-level warning
      read -r done bad rate < <(psql "$DSN" -Atc "
        SELECT count(*) FILTER (WHERE status = 'successful'),
               count(*) FILTER (WHERE status <> 'successful' AND status <> 'picked'),
               round(count(*) FILTER (WHERE status = 'successful')
                     / extract(epoch FROM max(created) - min(created)))
        FROM pgqueuer_log" | tr '|' ' ')
      [ "$done" = "$JOBS" ] || echo "warning: $handler completed $done of $JOBS jobs"
      if [ "$rate" -gt "$best" ]; then best=$rate; failed=$bad; fi
    done
    printf "%-8s %6s %10s %10s\n" "$handler" "$batch" "$best" "$failed"
  done
done

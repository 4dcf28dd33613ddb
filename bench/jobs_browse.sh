#!/usr/bin/env bash
# Job browser benchmark: `pgq jobs` first pages and deep next pages (keyset,
# half-way through the matching rows, at most 500,000 rows in) at 1,000,000
# queued jobs and 5,000,000 log rows, unfiltered and filtered, plus the
# payload searches. For each: the median wall time of the whole `pgq jobs
# --json` process (start, connect, query, print) over RUNS runs, and the
# server's EXPLAIN ANALYZE execution time of the page's statement (the hidden
# `--explain` flag runs it with the same parameters). Then `pgq verify` and
# Python's verify must still pass: no index was added.
# Prints figures; never fails on speed.
#
#   bench/jobs_browse.sh   (RUNS=5; KEEP=1 keeps the database, REUSE=1 reuses it;
#                           PGQ_PYTHON_VENV=dir also runs Python's verify)
#
# Needs: PostgreSQL at PGQ_BENCH_DSN (default postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
RUNS=${RUNS:-5}
DB=pgq_bench_jobs
DSN=${ADMIN%/*}/$DB
# PGQ=path/to/pgq skips the release build (server-side times do not depend on it).
if [ -z "${PGQ:-}" ]; then
  cargo build --release --quiet --bin pgq
  PGQ=${CARGO_TARGET_DIR:-target}/release/pgq
fi

if [ "${REUSE:-0}" != 1 ]; then
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PGDSN=$DSN $PGQ install >/dev/null
echo "Seeding 1,000,000 queued jobs and 5,000,000 log rows…"
t0=$(date +%s)
psql "$DSN" -q <<'SQL'
-- Finished jobs 1..1,666,666: queued, picked and a terminal row each (5M rows).
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, traceback, aggregated)
  SELECT now() - interval '2 days' + (j * interval '50 ms') + (s * interval '1 s'), j,
         CASE s WHEN 0 THEN 'queued' WHEN 1 THEN 'picked'
           ELSE (CASE WHEN j % 100 < 90 THEN 'successful' WHEN j % 100 < 95 THEN 'exception'
                      WHEN j % 100 < 98 THEN 'canceled' ELSE 'deleted' END) END::pgqueuer_status,
         j % 10, 'ep' || (j % 8),
         CASE WHEN s = 2 AND j % 100 BETWEEN 90 AND 94
              THEN jsonb_build_object('job_id', j, 'exception_type', 'ValueError',
                                      'exception_message', 'bad input', 'traceback', 'Traceback…')
         END,
         true
  FROM generate_series(1, 1666666) j, generate_series(0, 2) s;
INSERT INTO pgqueuer_log (created, job_id, status, priority, entrypoint, aggregated)
  SELECT now() - interval '1 day', 1666667, 'queued', 0, 'ep0', true
  FROM generate_series(1, 2);
-- The queue: ids 2,000,001..3,000,000; 2 % picked by ten workers, 1 % held
-- failed, 5 % deferred; JSON payloads with an order id and a customer.
INSERT INTO pgqueuer (id, priority, queue_manager_id, created, updated, heartbeat, execute_after,
                      status, entrypoint, dedupe_key, payload, headers, attempts)
  SELECT 2000000 + i, i % 10,
         CASE WHEN i % 100 < 2 THEN ('00000000-0000-4000-8000-00000000000' || (i % 10))::uuid END,
         now() - interval '1 day' + i * interval '50 ms', now(), now(),
         CASE WHEN i % 100 BETWEEN 3 AND 7 THEN now() + interval '1 hour' ELSE now() END,
         (CASE WHEN i % 100 < 2 THEN 'picked' WHEN i % 100 = 2 THEN 'failed' ELSE 'queued' END)::pgqueuer_status,
         'ep' || (i % 8),
         CASE WHEN i % 10 = 0 THEN 'key' || i END,
         convert_to(format('{"order_id": %s, "customer": "c%s"}', i, i % 100003), 'UTF8'),
         CASE WHEN i % 4 = 0 THEN jsonb_build_object('tenant', 't' || (i % 50)) ELSE 'null'::jsonb END,
         CASE WHEN i % 100 = 2 THEN 3 ELSE 0 END
  FROM generate_series(1, 1000000) i;
SELECT setval('pgqueuer_id_seq', 3000000);
VACUUM ANALYZE pgqueuer;
VACUUM ANALYZE pgqueuer_log;
SQL
echo "Seeded in $(( $(date +%s) - t0 )) s: $(psql "$DSN" -tAc 'SELECT count(*) FROM pgqueuer') queued rows, $(psql "$DSN" -tAc 'SELECT count(*) FROM pgqueuer_log') log rows"
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# wall_ms ARGS…: median wall time of `pgq --json jobs ARGS` in ms.
wall_ms() {
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s%N)
    PGDSN=$DSN $PGQ --json jobs "$@" >/dev/null
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 ))
  done | median | awk '{printf "%.1f", $1 / 1000}'
}

# server_ms ARGS…: median EXPLAIN ANALYZE execution time of the page's statement.
server_ms() {
  for _ in $(seq "$RUNS"); do
    PGDSN=$DSN $PGQ jobs --explain "$@" 2>&1 >/dev/null | sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p'
  done | median
}

# trip_ms ARGS…: median round trip of the page's query(ies) as pgq times it
# (sent, answered, decoded; without process start and connecting).
trip_ms() {
  for _ in $(seq "$RUNS"); do
    PGDSN=$DSN $PGQ jobs --explain "$@" 2>&1 >/dev/null | sed -n 's/^Page round trip: \([0-9.]*\) ms$/\1/p'
  done | median
}

# case LABEL TABLE WHERE -- ARGS…: first page, and the next page that starts
# half-way through the matching rows (at most 500,000 rows in).
case_row() {
  local label=$1 table=$2 where=$3 column=id
  shift 4
  [ "$table" = pgqueuer_log ] && column=job_id
  local cursor
  cursor=$(psql "$DSN" -tAc "SELECT $column FROM $table WHERE $where ORDER BY $column DESC
             OFFSET LEAST(500000, (SELECT count(*) / 2 FROM $table WHERE $where)) LIMIT 1")
  printf "| %-34s | %7s | %7s | %7s | %7s | %7s | %7s |\n" "$label" \
    "$(wall_ms "$@")" "$(trip_ms "$@")" "$(server_ms "$@")" \
    "$( [ -n "$cursor" ] && wall_ms "$@" --after-id "$cursor" || echo -)" \
    "$( [ -n "$cursor" ] && trip_ms "$@" --after-id "$cursor" || echo -)" \
    "$( [ -n "$cursor" ] && server_ms "$@" --after-id "$cursor" || echo -)"
}

echo
echo "Pages of 50 rows; median of $RUNS runs; ms. 'process' = the whole pgq process (start,"
echo "connect, query, print); 'query' = the page's round trip inside pgq; 'server' = EXPLAIN ANALYZE."
printf "| %-34s | %7s | %7s | %7s | %7s | %7s | %7s |\n" "Listing" "process" "query" "server" "next:pr" "query" "server"
printf "|%s|%s|%s|%s|%s|%s|%s|\n" "------------------------------------" "---------" "---------" "---------" "---------" "---------" "---------"
case_row "unfiltered" pgqueuer "true" --
case_row "--status queued" pgqueuer "status = 'queued'" -- --status queued
case_row "--status picked" pgqueuer "status = 'picked'" -- --status picked
case_row "--status failed" pgqueuer "status = 'failed'" -- --status failed
case_row "--entrypoint ep3" pgqueuer "entrypoint = 'ep3'" -- --entrypoint ep3
case_row "--priority-min 3 --priority-max 5" pgqueuer "priority BETWEEN 3 AND 5" -- --priority-min 3 --priority-max 5
case_row "--status queued -e ep3 --priority-min 8" pgqueuer "status = 'queued' AND entrypoint = 'ep3' AND priority >= 8" -- --status queued -e ep3 --priority-min 8
case_row "--id 2500000" pgqueuer "id = 2500000" -- --id 2500000
case_row "--worker <uuid>" pgqueuer "queue_manager_id = '00000000-0000-4000-8000-000000000001'" -- --worker 00000000-0000-4000-8000-000000000001
case_row "--history" pgqueuer_log "status IN ('successful','exception','canceled','deleted')" -- --history
case_row "--history --status exception" pgqueuer_log "status = 'exception'" -- --history --status exception
case_row "--history --entrypoint ep3" pgqueuer_log "status IN ('successful','exception','canceled','deleted') AND entrypoint = 'ep3'" -- --history --entrypoint ep3
case_row "--history --id 1000000" pgqueuer_log "status IN ('successful','exception','canceled','deleted') AND job_id = 1000000" -- --history --id 1000000

echo
echo "Searches (scan the queue; first page; median of $RUNS runs; ms, process / query):"
for search in "c4242\"" "customer=c4242" "tenant=t7" "no-such-text"; do
  printf "  --search %-16s %8s %8s\n" "$search" "$(wall_ms --search "$search")" "$(trip_ms --search "$search")"
done

echo
PGDSN=$DSN $PGQ verify --expect present --strict && echo "pgq verify --expect present --strict: ok"
if [ -x "${PGQ_PYTHON_VENV:-}/bin/pgq" ]; then
  PGDSN=$DSN "$PGQ_PYTHON_VENV/bin/pgq" verify --expect present && echo "Python pgq verify: ok"
fi
[ "${KEEP:-0}" = 1 ] || psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"

#!/usr/bin/env bash
# Benchmark: a fleet of N worker processes on one queue, pgq (`pgq --headless
# run`, builtin noop) and Python PGQueuer 1.6.0 (bench/fleet_python.py,
# asyncpg + uvloop) in the same run, for N in NS. Prints figures; never
# fails on speed (only on lost or doubled jobs).
#
#   bench/fleet.sh [NS] [JOBS] [RATE] [SECONDS] [BATCH]
#       defaults "1 2 4 8 16", 20000, 200, 5, 10 (about 3 minutes)
#
# Two parts (PGQ_FLEET_PARTS, default "drain steady"):
#   drain   N idle workers, then JOBS no-op jobs in one INSERT (one NOTIFY);
#           jobs/s from the log (first pick to last completion).
#   steady  N idle workers while pgbench offers RATE jobs/s for SECONDS, one
#           job per statement (each INSERT notifies every worker: the herd);
#           enqueue → pick p50/p99 and enqueue → done p99 from the log.
# For each: connections the fleet holds (pg_stat_activity, per process),
# server CPU per job (every postgres process, including backends that
# exited, via the postmaster's reaped-children time), client CPU per job
# (the worker processes), the machine's busy share, dequeues per job (pgq:
# its own pgq_worker_dequeue_batches_total from --metrics-listen; Python:
# bench/fleet_python.py counts its dequeue calls), and exactly-once
# accounting: every job picked once and completed once, none left.
#
# PGQ_FLEET_SLEEP=SECONDS makes every job wait that long (pgq's builtin
# `sleep`, asyncio.sleep in Python) instead of doing nothing: jobs that
# wait on I/O, where one process must run many at once ("few processes,
# high concurrency": compare NS="1 16" with PGQ_FLEET_PGQ_ARGS=
# "--max-concurrent-tasks 0" against the default cap).
# PGQ_FLEET_WORKERS (default "pgq python") picks the implementations;
# PGQ_FLEET_PGQ_ARGS adds `pgq run` options (e.g. "--max-concurrent-tasks 0");
# PGQ_BIN another pgq binary (a build from before a change, say);
# PGQ_FLEET_PORT the first metrics port (default 19400, one per pgq worker).
#
# Needs: cargo, PostgreSQL on this machine at PGQ_BENCH_DSN (default
# postgres://postgres@127.0.0.1:5432/postgres; server CPU is read from
# /proc), psql, pgbench, python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${1:-1 2 4 8 16}
JOBS=${2:-20000}
RATE=${3:-200}
SECONDS_RUN=${4:-5}
BATCH=${5:-10}
PARTS=${PGQ_FLEET_PARTS:-drain steady}
IMPLS=${PGQ_FLEET_WORKERS:-pgq python}
PORT0=${PGQ_FLEET_PORT:-19400}
SLEEP=${PGQ_FLEET_SLEEP:-0}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_fleet
DSN=${ADMIN%/*}/$DB
PGQ=${PGQ_BIN:-${CARGO_TARGET_DIR:-target}/release/pgq}
VENV=${CARGO_TARGET_DIR:-target}/bench-venv
[ -n "${PGQ_BIN:-}" ] || cargo build --release --quiet --bin pgq
if [[ " $IMPLS " == *" python "* ]] && { [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import uvloop, pgqueuer" 2>/dev/null; }; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet pgqueuer==1.6.0 asyncpg uvloop typer==0.19.2
fi
psql "$ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export PGDSN=$DSN
$PGQ install >/dev/null 2>&1
SCRATCH=$(mktemp -d)
PIDS=()
stop_fleet() {
  [ ${#PIDS[@]} -gt 0 ] || return 0
  kill -TERM "${PIDS[@]}" 2>/dev/null || true
  wait "${PIDS[@]}" 2>/dev/null || true
  PIDS=()
}
trap 'stop_fleet; rm -rf "$SCRATCH"' EXIT
if [ "$SLEEP" = 0 ]; then
  HANDLER=noop PAYLOAD=NULL
else
  HANDLER=sleep PAYLOAD="convert_to('$SLEEP', 'UTF8')"
fi
printf '[[entrypoint]]\nname = "bench"\nbuiltin = "%s"\n' "$HANDLER" > "$SCRATCH/manifest.toml"
echo "WITH job AS (INSERT INTO pgqueuer (priority, status, entrypoint, payload) VALUES (0, 'queued', 'bench', $PAYLOAD) RETURNING id, entrypoint, priority) INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority) SELECT id, 'queued', entrypoint, priority FROM job;" > "$SCRATCH/enqueue_one.sql"

sql() { psql "$DSN" -Atc "$1"; }
TICK=$(getconf CLK_TCK)
# The postmaster: the postgres process whose parent is not one.
POSTMASTER=$(ps -C postgres -o pid=,ppid= | awk '{pid[$1]=1; ppid[$1]=$2} END {for (p in pid) if (!(ppid[p] in pid)) print p}' | head -1)
[ -n "$POSTMASTER" ] || { echo "no local postgres process: server CPU cannot be read" >&2; exit 1; }

ticks_of() { # user+system ticks of the given pids
  for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s += $1} END {print s + 0}'
}
server_ticks() { # every postgres process, plus those already reaped
  local live
  live=$(ticks_of $(ps -C postgres -o pid=))
  echo $((live + $(awk '{print $16 + $17}' "/proc/$POSTMASTER/stat")))
}
machine() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; } # total idle

# Wait (up to $2 s) until the command $1 succeeds.
wait_until() {
  local deadline=$((SECONDS + ${2:-120}))
  until eval "$1"; do
    [ $SECONDS -lt $deadline ] || { echo "gave up waiting for: $1" >&2; return 1; }
    sleep 0.1
  done
}

start_fleet() { # $1 impl, $2 N
  local i
  for i in $(seq "$2"); do
    case $1 in
      pgq) # shellcheck disable=SC2086
        $PGQ --headless run "$SCRATCH/manifest.toml" --batch-size "$BATCH" --dequeue-timeout 30 \
          --metrics-listen "127.0.0.1:$((PORT0 + i))" --log-level warning ${PGQ_FLEET_PGQ_ARGS:-} \
          2>>"$SCRATCH/pgq.err" & ;;
      python) rm -f "$SCRATCH/ready$i" "$SCRATCH/count$i"
        "$VENV/bin/python" bench/fleet_python.py "$BATCH" "$SCRATCH/ready$i" "$SCRATCH/count$i" "$SLEEP" \
          2>>"$SCRATCH/python.err" & ;;
    esac
    PIDS+=($!)
  done
  for i in $(seq "$2"); do
    case $1 in
      pgq) wait_until "curl -s http://127.0.0.1:$((PORT0 + i))/metrics | grep -q '^pgq_worker_listen_healthy 1'" ;;
      python) wait_until "[ -e $SCRATCH/ready$i ]" ;;
    esac
  done
}

dequeues() { # $1 impl, $2 N: the fleet's dequeues so far
  local i total=0 n
  for i in $(seq "$2"); do
    case $1 in
      pgq) n=$(curl -s "http://127.0.0.1:$((PORT0 + i))/metrics" | awk '$1 == "pgq_worker_dequeue_batches_total" {print $2}') ;;
      python) rm -f "$SCRATCH/count$i"; kill -USR1 "${PIDS[$((i - 1))]}"
        wait_until "[ -e $SCRATCH/count$i ]" 10; n=$(cat "$SCRATCH/count$i") ;;
    esac
    total=$((total + ${n%.*}))
  done
  echo "$total"
}

# "ok" when every job was picked once and completed once, none left queued.
accounting() { # $1 jobs expected
  sql "SELECT CASE WHEN picked = $1 AND jobs = $1 AND done = $1 AND left_over = 0 THEN 'ok'
                   ELSE format('LOST/DOUBLED: %s picks of %s jobs, %s done, %s left', picked, jobs, done, left_over) END
       FROM (SELECT count(*) FILTER (WHERE status = 'picked') AS picked,
                    count(DISTINCT job_id) FILTER (WHERE status = 'picked') AS jobs,
                    count(*) FILTER (WHERE status = 'successful') AS done,
                    (SELECT count(*) FROM pgqueuer) AS left_over
             FROM pgqueuer_log) t"
}

per_job() { python3 -c "import sys; a, b, n, k = map(float, sys.argv[1:5]); print(f'{(b - a) * k / n:.${5:-0}f}' if n else '-')" "$@"; }

echo "fleet benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), batch $BATCH, jobs: $HANDLER ${SLEEP}s, pgq args: ${PGQ_FLEET_PGQ_ARGS:-none}"
for part in $PARTS; do
  case $part in
    drain) echo; echo "drain: $JOBS jobs in one INSERT"
      printf "%-7s %3s %6s %8s %14s %14s %8s %9s %s\n" worker N conns/p jobs/s "server µs/job" "client µs/job" busy% deq/job exactly-once ;;
    steady) echo; echo "steady: $RATE jobs/s offered for $SECONDS_RUN s, one job per INSERT"
      printf "%-7s %3s %6s %8s %21s %12s %14s %14s %8s %9s %s\n" worker N conns/p achieved "pick ms p50/p99" "done ms p99" "server µs/job" "client µs/job" busy% deq/job exactly-once ;;
  esac
  for n in $NS; do
    for impl in $IMPLS; do
      sql "TRUNCATE pgqueuer; TRUNCATE pgqueuer_log; TRUNCATE pgqueuer_statistics" >/dev/null
      start_fleet "$impl" "$n"
      conns=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()")
      conns=$(python3 -c "print(f'{$conns / $n:.1f}')")
      d0=$(dequeues "$impl" "$n"); c0=$(ticks_of "${PIDS[@]}"); s0=$(server_ticks); read -r mt0 mi0 < <(machine)
      case $part in
        drain)
          sql "INSERT INTO pgqueuer (priority, status, entrypoint, payload) SELECT 0, 'queued', 'bench', $PAYLOAD FROM generate_series(1, $JOBS)" >/dev/null
          jobs=$JOBS ;;
        steady)
          pgbench -n -M prepared -R "$RATE" -T "$SECONDS_RUN" -c 4 -j 2 -f "$SCRATCH/enqueue_one.sql" "$DSN" >/dev/null 2>&1
          jobs=$(sql "SELECT count(*) FROM pgqueuer_log WHERE status = 'queued'") ;;
      esac
      wait_until "[ \$(sql \"SELECT count(*) FROM pgqueuer_log WHERE status = 'successful'\") -ge $jobs ]" 600
      d1=$(dequeues "$impl" "$n"); c1=$(ticks_of "${PIDS[@]}"); s1=$(server_ticks); read -r mt1 mi1 < <(machine)
      stop_fleet
      busy=$(python3 -c "print(f'{100 * (1 - ($mi1 - $mi0) / ($mt1 - $mt0)):.0f}')")
      server=$(per_job "$s0" "$s1" "$jobs" "$((1000000 / TICK))")
      client=$(per_job "$c0" "$c1" "$jobs" "$((1000000 / TICK))")
      deq=$(per_job "$d0" "$d1" "$jobs" 1 2)
      check=$(accounting "$jobs")
      case $part in
        drain)
          rate=$(sql "SELECT round($jobs / extract(epoch FROM max(created) FILTER (WHERE status = 'successful') - min(created) FILTER (WHERE status = 'picked')))::bigint FROM pgqueuer_log")
          printf "%-7s %3s %6s %8s %14s %14s %8s %9s %s\n" "$impl" "$n" "$conns" "$rate" "$server" "$client" "$busy" "$deq" "$check" ;;
        steady)
          achieved=$((jobs / SECONDS_RUN))
          lat=$(sql "
            WITH job AS (
              SELECT min(created) FILTER (WHERE status = 'queued') AS queued,
                     min(created) FILTER (WHERE status = 'picked') AS picked,
                     min(created) FILTER (WHERE status = 'successful') AS done
              FROM pgqueuer_log GROUP BY job_id),
            ms AS (SELECT extract(epoch FROM picked - queued) * 1000 AS pick,
                          extract(epoch FROM done - queued) * 1000 AS done FROM job)
            SELECT format('%s/%s %s',
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY pick)::numeric, 1),
              round(percentile_cont(0.99) WITHIN GROUP (ORDER BY pick)::numeric, 1),
              round(percentile_cont(0.99) WITHIN GROUP (ORDER BY done)::numeric, 1))
            FROM ms")
          printf "%-7s %3s %6s %8s %21s %12s %14s %14s %8s %9s %s\n" "$impl" "$n" "$conns" "$achieved" "${lat% *}" "${lat#* }" "$server" "$client" "$busy" "$deq" "$check" ;;
      esac
    done
  done
done

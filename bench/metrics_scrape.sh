#!/usr/bin/env bash
# Benchmark: how long a metrics collection takes when every round trip to
# PostgreSQL costs DELAY_MS each way (a database in another zone). pgq
# metrics connects through a small proxy that holds every chunk DELAY_MS
# before passing it on, in order; the collection's own figure
# (pgq_metrics_collection_duration_seconds) is read from SCRAPES scrapes
# after a warm-up one, and divided by the round-trip time it estimates the
# round trips a collection waits for. Prints figures; never fails on speed.
#
#   bench/metrics_scrape.sh [DELAY_MS] [SCRAPES]   (defaults 10 and 20)
#
# PGQ=path/to/pgq runs another binary (say, one built from an older
# commit) instead of building this tree. Needs: cargo, python3, psql,
# PostgreSQL at PGQ_BENCH_DSN (default postgres://postgres@127.0.0.1:5432/postgres).
# The latency percentiles are cached for 30 s: the warm-up scrape computes
# them, and the timed scrapes reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
DELAY_MS=${1:-10}
SCRAPES=${2:-20}
ADMIN=${PGQ_BENCH_DSN:-postgres://postgres@127.0.0.1:5432/postgres}
DB=pgq_bench_metrics
PROFILE=${PGQ_BENCH_PROFILE:-release}
if [ -z "${PGQ:-}" ]; then
  cargo build --quiet --profile "$PROFILE"
  PGQ=target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")/pgq
fi
WORK=$(mktemp -d)
trap 'kill $(cat "$WORK"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT

psql -q "$ADMIN" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
DIRECT=${ADMIN%/*}/$DB
PGDSN=$DIRECT $PGQ install >/dev/null
# Some rows in every table the collection reads.
psql -q "$DIRECT" -c "INSERT INTO pgqueuer (priority, entrypoint, payload, status)
  SELECT 0, 'ep' || (i % 5), NULL, 'queued' FROM generate_series(1, 1000) i" \
  -c "INSERT INTO pgqueuer_log (job_id, status, entrypoint, priority)
  SELECT i, s::pgqueuer_status, 'ep' || (i % 5), 0
  FROM generate_series(1, 2000) i, unnest(ARRAY['queued', 'picked', 'successful']) s"

host=$(echo "$ADMIN" | sed -E 's|.*@([^:/]+).*|\1|')
port=$(echo "$ADMIN" | sed -E 's|.*:([0-9]+)/.*|\1|')
cat >"$WORK/proxy.py" <<'PY'
import asyncio, sys, time
listen_port, host, port, delay = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) / 1000

async def pump(reader, writer):
    queue = asyncio.Queue()
    async def forward():
        while True:
            at, data = await queue.get()
            if data is None:
                writer.close()
                return
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            writer.write(data)
            await writer.drain()
    task = asyncio.create_task(forward())
    while True:
        data = await reader.read(65536)
        queue.put_nowait((time.monotonic() + delay, data or None))
        if not data:
            break
    await task

async def serve(client_reader, client_writer):
    server_reader, server_writer = await asyncio.open_connection(host, port)
    await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer),
                         return_exceptions=True)

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
    print("ready", flush=True)
    await server.serve_forever()

asyncio.run(main())
PY
PROXY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$WORK/proxy.py" "$PROXY_PORT" "$host" "$port" "$DELAY_MS" >"$WORK/proxy.out" &
echo $! >"$WORK/proxy.pid"
for _ in $(seq 100); do grep -q ready "$WORK/proxy.out" 2>/dev/null && break; sleep 0.1; done

METRICS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PGDSN="postgres://postgres@127.0.0.1:$PROXY_PORT/$DB" $PGQ metrics --listen "127.0.0.1:$METRICS_PORT" \
  >"$WORK/metrics.out" 2>&1 &
echo $! >"$WORK/metrics.pid"
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$METRICS_PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

figures=()
curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" >/dev/null # warm-up: connects
for _ in $(seq "$SCRAPES"); do
  figures+=("$(curl -fs "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk '$1 == "pgq_metrics_collection_duration_seconds" { print $2 }')")
done
printf '%s\n' "${figures[@]}" | python3 -c "
import statistics, sys
values = sorted(float(v) * 1000 for v in sys.stdin if v.strip())
rtt = 2 * $DELAY_MS
median = statistics.median(values)
print(f'pgq metrics collection through a {rtt} ms round trip ({len(values)} scrapes, $PGQ):')
print(f'  median {median:.1f} ms, min {values[0]:.1f} ms, max {values[-1]:.1f} ms')
if rtt:
    print(f'  about {median / rtt:.1f} round trips per collection')
"

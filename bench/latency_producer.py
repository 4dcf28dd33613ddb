"""Steady producer for bench/latency.sh: enqueue single no-op jobs for the
'bench' entrypoint at RATE jobs/s for SECONDS, through Python PGQueuer
1.6.0's own enqueue (one job per statement, so each job's `queued` log row
carries its own enqueue time).

    latency_producer.py RATE SECONDS

An enqueue waits for its commit (a WAL flush), which can take longer than
1/RATE, so the jobs are spread over one connection per 100 jobs/s, each
keeping its own share of a fixed timetable (job i at start + i/RATE): a late
send is made at once but does not shift the later ones, so the offered rate
stays RATE. Prints the jobs sent and the rate achieved.
"""

import asyncio
import math
import os
import sys
import time

import asyncpg
import uvloop
from pgqueuer.db import AsyncpgDriver
from pgqueuer.queries import Queries


async def lane(rate: float, total: int, first: int, step: int, start: float) -> None:
    conn = await asyncpg.connect(os.environ["PGDSN"])
    q = Queries(AsyncpgDriver(conn))
    await barrier.wait()
    for i in range(first, total, step):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await q.enqueue("bench", None)
    await conn.close()


async def produce(rate: float, seconds: float) -> None:
    global barrier
    lanes = max(1, math.ceil(rate / 100))
    barrier = asyncio.Barrier(lanes + 1)
    total = int(rate * seconds)
    # Connect first; the timetable starts once every lane is ready.
    start = time.monotonic() + 1.0
    tasks = [
        asyncio.create_task(lane(rate, total, k, lanes, start)) for k in range(lanes)
    ]
    await barrier.wait()
    await asyncio.gather(*tasks)
    took = time.monotonic() - start
    print(f"{total} {total / took:.0f}")


if __name__ == "__main__":
    uvloop.run(produce(float(sys.argv[1]), float(sys.argv[2])))

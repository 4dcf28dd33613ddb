"""Python PGQueuer 1.6.0 side of bench/worker.sh (asyncpg + uvloop).

    worker_python.py drain BATCH               drain the 'bench' entrypoint
    worker_python.py continuous BATCH SECONDS  run a worker for SECONDS
    worker_python.py enqueue SECONDS           enqueue no-op jobs (batches of
                                               100) as fast as possible
"""

import asyncio
import os
import sys
import time
from datetime import timedelta

import asyncpg
import uvloop
from pgqueuer.db import AsyncpgDriver
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries
from pgqueuer.types import QueueExecutionMode


async def worker(batch: int, mode: QueueExecutionMode, seconds: float | None) -> None:
    conn = await asyncpg.connect(os.environ["PGDSN"])
    qm = QueueManager(Queries(AsyncpgDriver(conn)))

    @qm.entrypoint("bench")
    async def bench(job) -> None:
        pass

    if seconds is not None:
        asyncio.get_running_loop().call_later(seconds, qm.shutdown.set)
    await qm.run(batch_size=batch, mode=mode, dequeue_timeout=timedelta(seconds=1))
    await conn.close()


async def enqueue(seconds: float) -> None:
    conn = await asyncpg.connect(os.environ["PGDSN"])
    q = Queries(AsyncpgDriver(conn))
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        await q.enqueue(["bench"] * 100, [None] * 100, [0] * 100)
        n += 100
    await conn.close()
    print(n)


def main() -> None:
    cmd = sys.argv[1]
    if cmd == "drain":
        uvloop.run(worker(int(sys.argv[2]), QueueExecutionMode.drain, None))
    elif cmd == "continuous":
        uvloop.run(worker(int(sys.argv[2]), QueueExecutionMode.continuous, float(sys.argv[3])))
    elif cmd == "enqueue":
        uvloop.run(enqueue(float(sys.argv[2])))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()

"""Python PGQueuer 1.6.0 worker for bench/fleet.sh (asyncpg + uvloop): serves
the no-op 'bench' entrypoint in continuous mode until SIGTERM, counting its
own dequeue statements (PGQueuer has no counter of its own).

    fleet_python.py BATCH READY_FILE COUNT_FILE [SLEEP]

READY_FILE is created at the first dequeue (LISTEN is set up by then);
COUNT_FILE receives the number of dequeues so far on SIGUSR1, and at exit.
With SLEEP > 0 each job waits that many seconds (asyncio.sleep) instead of
doing nothing.
"""

import asyncio
import os
import signal
import sys
from datetime import timedelta

import asyncpg
import uvloop
from pgqueuer.db import AsyncpgDriver
from pgqueuer.qm import QueueManager
from pgqueuer.queries import Queries


async def main(batch: int, ready: str, count_file: str, sleep: float) -> None:
    conn = await asyncpg.connect(os.environ["PGDSN"])
    qm = QueueManager(Queries(AsyncpgDriver(conn)))
    dequeues = 0
    dequeue = qm.queries.dequeue

    async def counted(*args, **kwargs):
        nonlocal dequeues
        if dequeues == 0:
            open(ready, "w").close()
        dequeues += 1
        return await dequeue(*args, **kwargs)

    qm.queries.dequeue = counted

    @qm.entrypoint("bench")
    async def bench(job) -> None:
        if sleep > 0:
            await asyncio.sleep(sleep)

    def report() -> None:
        with open(count_file + ".tmp", "w") as f:
            f.write(f"{dequeues}\n")
        os.replace(count_file + ".tmp", count_file)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, report)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, qm.shutdown.set)
    await qm.run(batch_size=batch, dequeue_timeout=timedelta(seconds=30))
    await conn.close()
    report()


if __name__ == "__main__":
    sleep = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    uvloop.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3], sleep))

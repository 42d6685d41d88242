"""Rough append throughput of PostgresLog (durable: fsync and synchronous_commit on).

    python -m bench.log_append [--url URL] [--seconds 10] [--batch 500] [--size 1024]
                                 [--partitions 8] [--appenders 1]

Without --url it starts a throwaway embedded PostgreSQL in a temp dir. Prints records/s
and MB/s of acknowledged (committed) appends; values are random bytes, so nothing
compresses. A rough measurement, not a test: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres


def _batch(size: int, count: int, salt: int) -> list[LogRecord]:
    return [
        LogRecord(
            key=f"stack-{(salt + i) % 64}".encode(),
            value=os.urandom(size),
            headers={"kind": b"dpr"},
        )
        for i in range(count)
    ]


async def _run(url: str, args: argparse.Namespace) -> None:
    async with Database(url, max_size=args.appenders + 2) as db:
        log = PostgresLog(db)
        await log.start()
        topic = f"bench-{int(time.time())}"
        await log.create_topic(topic, args.partitions)
        batches = [_batch(args.size, args.batch, n) for n in range(8)]
        await log.append(topic, batches[0])  # warm up
        appended = 0
        deadline = time.perf_counter() + args.seconds

        async def appender(index: int) -> None:
            nonlocal appended
            n = index
            while time.perf_counter() < deadline:
                await log.append(topic, batches[n % len(batches)])
                appended += args.batch
                n += 1

        started = time.perf_counter()
        await asyncio.gather(*(appender(i) for i in range(args.appenders)))
        elapsed = time.perf_counter() - started
        await log.close()
    rate = appended / elapsed
    print(
        f"{appended} records in {elapsed:.1f} s with {args.appenders} appender(s), "
        f"batches of {args.batch} x {args.size} B: {rate:,.0f} records/s, "
        f"{rate * args.size / 1e6:.1f} MB/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="PostgreSQL URL (default: a throwaway embedded server)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--appenders", type=int, default=1)
    args = parser.parse_args()
    if args.url:
        asyncio.run(_run(args.url, args))
        return
    data_dir = Path(tempfile.mkdtemp(prefix="faramesh-bench-pg-"))
    try:
        with EmbeddedPostgres(data_dir) as server:
            asyncio.run(_run(server.url(), args))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

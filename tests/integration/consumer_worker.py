"""A consumer process for the crash tests: ``python -m tests.integration.consumer_worker URL
TOPIC DLQ [--until-idle]``. Prints "ready" once consuming; runs until killed, or with
``--until-idle`` until a poll finds nothing more."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from faramesh_cloud.consumer.runner import ConsumerRunner, Rejected, RunnerConfig
from faramesh_cloud.log.port import Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database


class Upper:
    """A pure processor: (key, upper-cased value); undecodable bytes are rejected."""

    def process(self, message: Message) -> tuple[str, str] | Rejected:
        try:
            return message.key.decode(), message.value.decode("utf-8").upper()
        except UnicodeDecodeError as exc:
            return Rejected(f"UnicodeDecodeError: {exc}")


class PgSink:
    """Idempotent: ON CONFLICT DO NOTHING on the value's id; writes in several transactions
    so a crash can land between them."""

    def __init__(self, db: Database, chunk: int = 100, delay_s: float = 0.0) -> None:
        self._db = db
        self._chunk = chunk
        self._delay_s = delay_s  # widens the window in which a kill lands mid-batch
        self.written = 0

    async def create(self) -> None:
        async with self._db.connection() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS sink_rows (id text PRIMARY KEY, stack text NOT NULL)")

    async def write(self, rows: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(rows), self._chunk):
            part = rows[start : start + self._chunk]
            async with self._db.connection() as conn, conn.transaction(), conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO sink_rows (id, stack) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                    [(value, key) for key, value in part],
                )
            if self._delay_s:
                await asyncio.sleep(self._delay_s)
        self.written += len(rows)


async def main(url: str, topic: str, dlq: str, until_idle: bool, chunk_delay_s: float) -> None:
    db = Database(url)
    await db.open()
    log = PostgresLog(db)
    await log.start()
    runner = ConsumerRunner(log, topic, "indexer", Upper(), PgSink(db, chunk=50, delay_s=chunk_delay_s),
                            RunnerConfig(dead_letter_topic=dlq, max_batch_records=300, max_batch_seconds=0.05))
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    print("ready", flush=True)
    if until_idle:
        idle = 0
        last = -1
        while idle < 20:
            await asyncio.sleep(0.1)
            idle = idle + 1 if runner.stats.messages == last else 0
            last = runner.stats.messages
        stop.set()
    await task
    await log.close()
    await db.close()


if __name__ == "__main__":
    delay = float(sys.argv[sys.argv.index("--chunk-delay") + 1]) if "--chunk-delay" in sys.argv else 0.0
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], "--until-idle" in sys.argv, delay))

"""A relay process for the outbox crash test: ``python -m tests.integration.outbox_worker URL
TABLE [--until-empty] [--die-after-append]``. Prints "ready" once relaying; runs until killed,
or with ``--until-empty`` until the table is empty. With ``--die-after-append`` the process
exits (code :data:`DIED_AFTER_APPEND`, no clean-up, as a crash) right after its first append
to the log is durable, before the relay's transaction deletes those rows: the window where
at-least-once delivers twice."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from faramesh_cloud.log.port import LogRecord, Position
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.sql.database import Database

DIED_AFTER_APPEND = 17


class DieAfterAppend(PostgresLog):
    """The real PostgreSQL log; the process ends as soon as one append has returned."""

    async def append(self, topic: str, records: Sequence[LogRecord]) -> list[Position]:
        positions = await super().append(topic, records)
        if positions:
            os._exit(DIED_AFTER_APPEND)
        return positions


async def main(url: str, table: str, until_empty: bool, die_after_append: bool = False) -> None:
    db = Database(url)
    await db.open()
    log = DieAfterAppend(db) if die_after_append else PostgresLog(db)
    await log.start()
    relay = OutboxRelay(db, log, table, RelayConfig(batch=37, idle_s=0.05))
    print("ready", flush=True)
    try:
        if until_empty:
            while await relay.relay_once():
                pass
        else:
            await relay.run(asyncio.Event())
    finally:
        await log.close()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], "--until-empty" in sys.argv[3:], "--die-after-append" in sys.argv[3:]))

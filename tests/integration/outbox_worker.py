"""A relay process for the outbox crash test: ``python -m tests.integration.outbox_worker URL
TABLE [--until-empty]``. Prints "ready" once relaying; runs until killed, or with
``--until-empty`` until the table is empty."""

from __future__ import annotations

import asyncio
import sys

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.outbox.relay import OutboxRelay, RelayConfig
from faramesh_cloud.sql.database import Database


async def main(url: str, table: str, until_empty: bool) -> None:
    db = Database(url)
    await db.open()
    log = PostgresLog(db)
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
    asyncio.run(main(sys.argv[1], sys.argv[2], "--until-empty" in sys.argv[3:]))

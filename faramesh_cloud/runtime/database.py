"""Cloud's PostgreSQL for a short CLI task (``simulate --register``): the external URL when
one is configured, otherwise the embedded server in the data dir, attaching to the one a
running ``faramesh-cloud up`` owns (the server keeps running when this lets go of it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.sql.database import Database


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    embedded = None
    url = settings.postgres_url
    if url is None:
        from faramesh_cloud.sql.embedded import EmbeddedPostgres

        embedded = EmbeddedPostgres(settings.data_dir)
        if not embedded.pgdata.is_dir():
            raise ConfigError(
                f"there is no Cloud database in {settings.data_dir} yet; start Cloud there first "
                "(faramesh-cloud up --data-dir ...), point --data-dir at its data dir, or set "
                "FARAMESH_CLOUD_POSTGRES_URL"
            )
        url = await asyncio.to_thread(embedded.start)
    db = Database(url, max_size=2)
    try:
        await db.open()
        yield db
    finally:
        await db.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)

"""The composition root: the only module that chooses and builds concrete adapters.

``open_platform(settings)`` gives every service the same injected parts: a ``Database``
(embedded PostgreSQL in the data dir unless ``postgres_url``), a ``Log`` (PostgreSQL-backed
unless ``kafka_bootstrap``), an ``Olap`` (chDB in the data dir unless ``clickhouse_dsn``).
Business code receives these as ports and never knows which adapter it has.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faramesh_cloud.config import ConfigError, Settings
from faramesh_cloud.directory.region import Region, parse_region_map
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS
from faramesh_cloud.log.port import Log
from faramesh_cloud.observability.setup import current
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.runtime.services import service_schemas
from faramesh_cloud.sql.database import Database, redact
from faramesh_cloud.sql.migrate import migrate

log = logging.getLogger(__name__)

# (component, package holding migrations/), applied in this order at start-up: the log and
# the stack registry (organisations, which every service's rows name), then each service's
# own tables as its entry in runtime/services.py declares them.
PLATFORM_SCHEMAS: tuple[tuple[str, str], ...] = (
    ("log", "faramesh_cloud.log"),
    ("stacks", "faramesh_cloud.stacks"),
)
MIGRATIONS: tuple[tuple[str, str], ...] = (*PLATFORM_SCHEMAS, *service_schemas())


@dataclass
class Platform:
    settings: Settings
    db: Database
    log: Log
    olap: Olap  # None when opened with with_olap=False (e.g. import-wal: no chDB lock taken)
    components: dict[str, str] = field(default_factory=dict)  # what runs, for the landing page
    _embedded_pg: Any = None
    # This install's region and the global directory; None in a single-region install.
    region: Region | None = None
    _directory: Any = None  # the PostgresDirectory behind region, closed with the platform

    async def close(self) -> None:
        if self._directory is not None:
            await self._directory.close()
        await self.log.close()
        if self.olap is not None:
            await asyncio.to_thread(self.olap.close)
        await self.db.close()
        if self._embedded_pg is not None:
            await asyncio.to_thread(self._embedded_pg.stop)


def check_data_dir(path: Path) -> None:
    """Create the data dir, or fail with one line that says what to do."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise ConfigError(f"cannot create data dir {path}: permission denied; pass --data-dir "
                          "with a directory you can write, or fix its permissions") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"data dir {path} is not writable by this user; pass --data-dir with a "
                          "directory you can write, or fix its permissions")


async def open_platform(settings: Settings, *, with_olap: bool = True,
                        schemas: Sequence[tuple[str, str]] = MIGRATIONS, with_directory: bool = True) -> Platform:
    """Start or connect to PostgreSQL, the log and the OLAP store; run the migrations of
    ``schemas`` (default: the platform's and every service's; the runner passes the
    platform's and those of the services the process runs). ``with_directory=False``: no
    directory even with a region (a process of services that never use it)."""
    check_data_dir(settings.data_dir)
    embedded_pg = None
    components: dict[str, str] = {}
    url = settings.postgres_url
    if url is None:
        from faramesh_cloud.sql.embedded import EmbeddedPostgres

        embedded_pg = EmbeddedPostgres(settings.data_dir)
        url = await asyncio.to_thread(embedded_pg.start)
        components["postgresql"] = f"embedded, {embedded_pg.pgdata}"
    else:
        components["postgresql"] = redact(url)
    db = Database(url)
    try:
        await db.open()
        applied = await migrate(db, schemas)
        if applied:
            log.info("applied migrations: %s", ", ".join(applied))
        region, directory = await open_region(settings, components) if with_directory else (None, None)
        try:
            event_log = await _open_log(settings, db, components)
            olap = await _open_olap(settings, components) if with_olap else None
        except BaseException:
            if directory is not None:
                await directory.close()
            raise
    except BaseException:
        await db.close()
        if embedded_pg is not None:
            await asyncio.to_thread(embedded_pg.stop)
        raise
    return Platform(settings, db, event_log, olap, components, embedded_pg,  # type: ignore[arg-type]
                    region, directory)


async def open_region(settings: Settings, components: dict[str, str]) -> tuple[Region | None, Any]:
    """The region and its directory (a ``PostgresDirectory``, to close), or (None, None) in a
    single-region install: then nothing connects to any directory. A directory unreachable
    now does not stop the region: it is connected (and migrated) on first use once it is
    back; until then creations are refused and no redirect hint is given (docs/deployment.md)."""
    if not settings.region:
        return None, None
    from faramesh_cloud.directory.port import DirectoryUnavailable
    from faramesh_cloud.directory.postgres import PostgresDirectory

    assert settings.directory_postgres_url is not None  # Settings.validate
    directory = PostgresDirectory(settings.directory_postgres_url)
    where = f"{settings.region} (directory {redact(settings.directory_postgres_url)})"
    try:
        await directory.start()
    except DirectoryUnavailable as exc:
        log.warning("%s; starting region %s anyway: creating organisations, people and stacks is refused and "
                    "no redirect hints are given until the directory answers", exc, settings.region)
        where += ", unreachable at start"
    components["region"] = where
    region = Region(settings.region, directory,
                    gateway_urls=parse_region_map("region_urls", settings.region_urls),
                    sync_addresses=parse_region_map("region_sync_addresses", settings.region_sync_addresses))
    return region, directory


async def _open_log(settings: Settings, db: Database, components: dict[str, str]) -> Log:
    event_log: Log
    if settings.kafka_bootstrap:
        from faramesh_cloud.runtime.kafka_wiring import kafka_log

        event_log = kafka_log(settings)
        components["log"] = f"Kafka at {settings.kafka_bootstrap}"
    else:
        from faramesh_cloud.log.postgres import PostgresLog

        event_log = PostgresLog(db)
        components["log"] = "PostgreSQL log (durable, LISTEN/NOTIFY)"
    telemetry = current()
    if telemetry is not None:  # OpenTelemetry on: appends traced, trace context in record headers
        from faramesh_cloud.observability.traced_log import TracedLog

        event_log = TracedLog(event_log, telemetry.tracer, "kafka" if settings.kafka_bootstrap else "postgresql")
    await event_log.start()
    for topic, partitions in DEFAULT_PARTITIONS.items():
        await event_log.create_topic(topic, partitions)
    return event_log


async def _open_olap(settings: Settings, components: dict[str, str]) -> Olap:
    if settings.clickhouse_dsn:
        from faramesh_cloud.olap.clickhouse import ClickhouseOlap

        components["olap"] = f"ClickHouse via clickhouse-connect ({settings.clickhouse_dsn.split('@')[-1]})"
        return await asyncio.to_thread(ClickhouseOlap, settings.clickhouse_dsn)
    from faramesh_cloud.olap.chdb import ChdbOlap

    directory = settings.data_dir / "chdb"
    components["olap"] = f"chDB (embedded ClickHouse), {directory}"
    return await asyncio.to_thread(ChdbOlap, directory)

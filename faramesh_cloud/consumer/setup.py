"""What every consumer service does before its runners start: its tables migrated and the
topics it reads and dead-letters to created (both idempotent); and the runner settings the
small-message projections of ``sync.items.v1`` share."""

from __future__ import annotations

from collections.abc import Iterable

from faramesh_cloud.consumer.runner import RunnerConfig
from faramesh_cloud.events.topics import DEAD_LETTERS, DEFAULT_PARTITIONS, SYNC_ITEMS
from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate


def sync_items_runner(max_batch_seconds: float = 0.1) -> RunnerConfig:
    """Approval events, status and health reports are small and infrequent: batches of at most
    500, cut after ``max_batch_seconds`` so the projection trails the daemon by little."""
    return RunnerConfig(max_batch_records=500, max_batch_seconds=max_batch_seconds, poll_records=500,
                        dead_letter_topic=DEAD_LETTERS)


async def prepare_consumer(db: Database, log: Log, component: tuple[str, str],
                           topics: Iterable[str] = (SYNC_ITEMS, DEAD_LETTERS)) -> None:
    """Migrate ``component`` (name, package) and create ``topics`` with their default partitions."""
    await migrate(db, [component])
    for topic in topics:
        await log.create_topic(topic, DEFAULT_PARTITIONS.get(topic, 1))

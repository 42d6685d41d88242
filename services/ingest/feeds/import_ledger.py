"""ImportLedger: how far each imported WAL (or JSONL export) is on the log, per stack.

The importer reads the ledger position, appends what lies after it, and only once the log
has a batch (``append`` returned) advances the position past it. A crash in between means
the next import appends that batch again: at-least-once, like every way in; projections
dedupe on record hash. :meth:`ImportLedger.exclusive` keeps two imports of the same file
into the same stack from interleaving. Every query is scoped to one organisation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

COMPONENT: Final = ("ingest_feeds", "faramesh_cloud.ingest.feeds")


class ImportBusy(RuntimeError):
    """Another import of the same file into the same stack is running."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    imported_through: int
    records: int
    control_frames: int
    malformed: int


@dataclass(frozen=True, slots=True)
class Progress:
    """What one appended batch covered: up to which position, and what it held."""

    through: int
    records: int
    control_frames: int
    malformed: int


class ImportLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        await migrate(self._db, [COMPONENT])

    async def entry(self, org_id: str, stack_id: str, identity: str) -> LedgerEntry | None:
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "SELECT imported_through, records, control_frames, malformed FROM wal_imports "
                "WHERE org_id = %s AND stack_id = %s AND source_identity = %s",
                (org_id, stack_id, identity),
            )).fetchone()
        return None if row is None else LedgerEntry(*(int(v) for v in row))

    async def advance(self, org_id: str, stack_id: str, identity: str, file_name: str,
                      progress: Progress) -> None:
        """Record a batch the log now holds. The position only ever moves forward."""
        async with self._db.connection() as conn:
            await conn.execute(
                "INSERT INTO wal_imports (org_id, stack_id, source_identity, imported_through, "
                "records, control_frames, malformed, last_file) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (org_id, stack_id, source_identity) DO UPDATE SET "
                "imported_through = GREATEST(wal_imports.imported_through, EXCLUDED.imported_through), "
                "records = wal_imports.records + EXCLUDED.records, "
                "control_frames = wal_imports.control_frames + EXCLUDED.control_frames, "
                "malformed = wal_imports.malformed + EXCLUDED.malformed, "
                "last_file = EXCLUDED.last_file, last_import_at = now()",
                (org_id, stack_id, identity, progress.through, progress.records,
                 progress.control_frames, progress.malformed, file_name[:1000]),
            )

    @asynccontextmanager
    async def exclusive(self, org_id: str, stack_id: str, identity: str) -> AsyncIterator[None]:
        """Hold a session advisory lock on (org, stack, file) for the block; ImportBusy when
        another process holds it."""
        conn = await self._db.connect()
        try:
            name = f"wal-import/{org_id}/{stack_id}/{identity}"
            row = await (await conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,))).fetchone()
            if row is None or not row[0]:
                raise ImportBusy(
                    "another import of this file into this stack is running; wait for it to "
                    "finish (a second run afterwards appends only what is new)"
                )
            yield
        finally:
            await conn.close()  # ends the session, and with it the advisory lock

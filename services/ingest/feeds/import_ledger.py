"""ImportLedger: how far each imported WAL (or JSONL export) is on the log, per stack.

The importer reads the ledger position, appends what lies after it, and only once the log
has a batch (``append`` returned) records it: the new position, how many bytes of the file
the handled entries cover and the SHA-256 of those bytes, and the identity of every entry
the batch held (:meth:`ImportLedger.advance`, one transaction). A crash in between means the
next import appends that batch again: at-least-once, like every way in; projections dedupe
on record hash. :meth:`ImportLedger.exclusive` keeps two imports of the same file into the
same stack from interleaving. Every query is scoped to one organisation.

``wal_import_records`` is what an import checks entries against when the file no longer
starts with the bytes it imported (a daemon truncated its WAL and wrote on, or compacted
it): see ``faramesh_cloud.ingest.wal_import``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

COMPONENT: Final = ("ingest_feeds", "faramesh_cloud.ingest.feeds")

EntryId = tuple[str, str]  # (record_id, record_hash); ("", "sha256:<hex>") for a non-DPR


class ImportBusy(RuntimeError):
    """Another import of the same file into the same stack is running."""


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    imported_through: int
    records: int
    control_frames: int
    malformed: int
    verified_end: int = 0  # bytes of the file the handled entries cover
    prefix_sha256: str = ""  # SHA-256 of those bytes ("": not known, from before it was kept)


@dataclass(frozen=True, slots=True)
class Progress:
    """What one appended batch covered: up to which position, and what it held."""

    through: int
    records: int
    control_frames: int
    malformed: int
    verified_end: int = 0
    prefix_sha256: str = ""


@dataclass(frozen=True, slots=True)
class ProblemMet:
    """Damage an import met before the end of a file (a corrupt WAL frame)."""

    offset: int
    reason: str
    unread_bytes: int
    times_met: int
    first_met_at: datetime
    last_met_at: datetime
    last_file: str


class ImportLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        await migrate(self._db, [COMPONENT])

    async def entry(self, org_id: str, stack_id: str, identity: str) -> LedgerEntry | None:
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "SELECT imported_through, records, control_frames, malformed, verified_end, prefix_sha256 "
                "FROM wal_imports WHERE org_id = %s AND stack_id = %s AND source_identity = %s",
                (org_id, stack_id, identity),
            )).fetchone()
        if row is None:
            return None
        return LedgerEntry(*(int(v) for v in row[:5]), prefix_sha256=row[5])

    async def imported(self, org_id: str, stack_id: str, ids: Iterable[EntryId]) -> set[EntryId]:
        """Which of ``ids`` an import already handled for this stack (from any file)."""
        wanted = sorted(set(ids))
        if not wanted:
            return set()
        async with self._db.connection() as conn:
            # One primary-key probe per wanted id (LATERAL ... LIMIT 1): a join would hash every
            # id the stack ever imported, once per batch, when the table's statistics are stale.
            rows = await (await conn.execute(
                "SELECT v.r, v.h FROM unnest(%s::text[], %s::text[]) AS v(r, h) CROSS JOIN LATERAL ("
                "SELECT 1 FROM wal_import_records w WHERE w.org_id = %s AND w.stack_id = %s "
                "AND w.record_id = v.r AND w.record_hash = v.h LIMIT 1) AS hit",
                ([i for i, _ in wanted], [h for _, h in wanted], org_id, stack_id),
            )).fetchall()
        return {(str(r), str(h)) for r, h in rows}

    async def advance(self, org_id: str, stack_id: str, identity: str, file_name: str,
                      progress: Progress, handled: Sequence[EntryId] = ()) -> None:
        """Record a batch the log now holds: the file's new position and verified prefix
        (they replace the old ones: a re-import by identity may move them back, onto a file
        that was truncated), the counts, and the identities of the entries ``handled``."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO wal_imports (org_id, stack_id, source_identity, imported_through, "
                "records, control_frames, malformed, last_file, verified_end, prefix_sha256) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (org_id, stack_id, source_identity) DO UPDATE SET "
                "imported_through = EXCLUDED.imported_through, "
                "records = wal_imports.records + EXCLUDED.records, "
                "control_frames = wal_imports.control_frames + EXCLUDED.control_frames, "
                "malformed = wal_imports.malformed + EXCLUDED.malformed, "
                "verified_end = EXCLUDED.verified_end, prefix_sha256 = EXCLUDED.prefix_sha256, "
                "last_file = EXCLUDED.last_file, last_import_at = now()",
                (org_id, stack_id, identity, progress.through, progress.records,
                 progress.control_frames, progress.malformed, file_name[:1000], progress.verified_end,
                 progress.prefix_sha256),
            )
            if handled:
                ids = sorted(set(handled))
                await conn.execute(
                    "INSERT INTO wal_import_records (org_id, stack_id, record_id, record_hash) "
                    "SELECT %s, %s, r, h FROM unnest(%s::text[], %s::text[]) AS v(r, h) ON CONFLICT DO NOTHING",
                    (org_id, stack_id, [i for i, _ in ids], [h for _, h in ids]),
                )

    async def record_problem(self, org_id: str, stack_id: str, identity: str, file_name: str, offset: int,
                             reason: str, unread_bytes: int) -> bool:
        """Note that an import met a corrupt frame at ``offset``; True the first time."""
        async with self._db.connection() as conn:
            row = await (await conn.execute(
                "INSERT INTO wal_import_problems (org_id, stack_id, source_identity, byte_offset, kind, reason, "
                "unread_bytes, last_file) VALUES (%s, %s, %s, %s, 'corrupt', %s, %s, %s) "
                "ON CONFLICT (org_id, stack_id, source_identity, byte_offset) DO UPDATE SET "
                "times_met = wal_import_problems.times_met + 1, last_met_at = now(), "
                "reason = EXCLUDED.reason, unread_bytes = EXCLUDED.unread_bytes, last_file = EXCLUDED.last_file "
                "RETURNING times_met",
                (org_id, stack_id, identity, offset, reason.replace("\x00", ""), unread_bytes, file_name[:1000]),
            )).fetchone()
        return row is not None and int(row[0]) == 1

    async def problems(self, org_id: str, stack_id: str, identity: str) -> list[ProblemMet]:
        """The damage imports of this file into this stack met, by offset."""
        async with self._db.connection() as conn:
            rows = await (await conn.execute(
                "SELECT byte_offset, reason, unread_bytes, times_met, first_met_at, last_met_at, last_file "
                "FROM wal_import_problems WHERE org_id = %s AND stack_id = %s AND source_identity = %s "
                "ORDER BY byte_offset",
                (org_id, stack_id, identity),
            )).fetchall()
        return [ProblemMet(int(o), r, int(u), int(t), f, lt, lf) for o, r, u, t, f, lt, lf in rows]

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

"""Acknowledged sequences: per (stack, buffer), the highest sequence durable in the log.

The order in a Push is what makes the acknowledgement true: read the acked sequence, append
the items above it to the log, and advance the acked sequence only with or after them. The
advance is the log's :class:`~faramesh_cloud.log.port.AfterAppend` (:meth:`AckStore.after`):
when the log is PostgreSQL in this same database, it commits in the append's own transaction
(both or neither, one fsync, shared with other pushes by group commit); with any other log
it runs once the append is durable, and a crash between the two re-appends those items on
the daemon's retry (at-least-once; projections dedupe). Never is anything acknowledged that
the log lacks.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

COMPONENT: Final = ("ingest", "faramesh_cloud.ingest")

_ADVANCE: Final = (
    "INSERT INTO sync_buffer_acks (org_id, stack_id, buffer_id, acked_through) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT (org_id, stack_id, buffer_id) DO UPDATE "
    "SET acked_through = GREATEST(sync_buffer_acks.acked_through, EXCLUDED.acked_through), "
    "updated_at = now()"
)


_MAX_REMEMBERED: Final = 100_000  # buffers; forgetting only costs one read


class AckStore:
    """The ``sync_buffer_acks`` table. Every query is scoped to one organisation.

    The process remembers, for ``remember_s``, the acked sequence it last read or made
    durable per buffer, so a daemon catching up (pushes back to back) costs no read per push.
    What it remembers is never ahead of the table (it is set only after the commit). It can
    be behind only if another ingest process advanced the same buffer meanwhile; then this
    process re-appends what that one did (at-least-once, projections dedupe), for at most
    ``remember_s``."""

    def __init__(
        self, db: Database, *, remember_s: float = 2.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = db
        self._remember_s = remember_s
        self._clock = clock
        self._known: dict[tuple[str, str, str], tuple[int, float]] = {}

    @property
    def database(self) -> Database:
        return self._db

    async def start(self) -> None:
        await migrate(self._db, [COMPONENT])

    def remember(self, org_id: str, stack_id: str, buffer_id: str, through: int) -> None:
        """``through`` is durable for the buffer (called after the commit that made it so)."""
        key = (org_id, stack_id, buffer_id)
        known = self._known.get(key)
        if known is not None and known[0] > through:
            through = known[0]
        if len(self._known) >= _MAX_REMEMBERED:
            self._known.clear()
        self._known[key] = (through, self._clock())

    async def acked_through(self, org_id: str, stack_id: str, buffer_id: str) -> int:
        known = self._known.get((org_id, stack_id, buffer_id))
        if known is not None and self._clock() - known[1] < self._remember_s:
            return known[0]
        value = await self._read(org_id, stack_id, buffer_id)
        self.remember(org_id, stack_id, buffer_id, value)
        return value

    async def _read(self, org_id: str, stack_id: str, buffer_id: str) -> int:
        async with self._db.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT acked_through FROM sync_buffer_acks "
                    "WHERE org_id = %s AND stack_id = %s AND buffer_id = %s",
                    (org_id, stack_id, buffer_id),
                )
            ).fetchone()
        return 0 if row is None else int(row[0])

    async def advance(self, org_id: str, stack_id: str, buffer_id: str, through: int) -> int:
        """Move the acked sequence forward to ``through`` (never back); returns the result."""
        async with self._db.connection() as conn:
            row = await (
                await conn.execute(_ADVANCE + " RETURNING acked_through", (org_id, stack_id, buffer_id, through))
            ).fetchone()
        assert row is not None
        self.remember(org_id, stack_id, buffer_id, int(row[0]))
        return int(row[0])

    def after(self, org_id: str, stack_id: str, buffer_id: str, through: int) -> AckAdvance:
        """The advance to ``through`` as the log's AfterAppend of the push's append."""
        return AckAdvance(self, org_id, stack_id, buffer_id, through)


@dataclass(frozen=True, slots=True)
class AckAdvance:
    """:meth:`AckStore.advance` as an :class:`~faramesh_cloud.log.port.AfterAppend`."""

    store: AckStore
    org_id: str
    stack_id: str
    buffer_id: str
    through: int

    @property
    def database(self) -> object:
        return self.store.database

    def statement(self) -> tuple[str, Sequence[object]]:
        return _ADVANCE, (self.org_id, self.stack_id, self.buffer_id, self.through)

    async def apply(self) -> None:
        await self.store.advance(self.org_id, self.stack_id, self.buffer_id, self.through)


class BufferLocks:
    """One asyncio lock per (stack, buffer), so two pushes of one buffer that arrive at once
    (the protocol allows one in flight; a confused daemon may send more) are applied one
    after the other and the second appends nothing the first did. Locks nobody holds or
    waits for are dropped (weak references). Across ingest processes, duplicates stay
    possible and harmless: delivery is at-least-once and projections dedupe."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @asynccontextmanager
    async def hold(self, stack_id: str, buffer_id: str) -> AsyncIterator[None]:
        key = (stack_id, buffer_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            yield

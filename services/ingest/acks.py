"""Acknowledged sequences: per (stack, buffer), the highest sequence durable in the log.

The order in a Push is what makes the acknowledgement true: read the acked sequence, append
the items above it to the log (durable when ``append`` returns), and only THEN advance the
acked sequence here. A crash between the two re-appends those items on the daemon's retry
(at-least-once; projections dedupe), but never acknowledges anything the log lacks.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate

COMPONENT: Final = ("ingest", "faramesh_cloud.ingest")


class AckStore:
    """The ``sync_buffer_acks`` table. Every query is scoped to one organisation."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        await migrate(self._db, [COMPONENT])

    async def acked_through(self, org_id: str, stack_id: str, buffer_id: str) -> int:
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
                await conn.execute(
                    "INSERT INTO sync_buffer_acks (org_id, stack_id, buffer_id, acked_through) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (org_id, stack_id, buffer_id) DO UPDATE "
                    "SET acked_through = GREATEST(sync_buffer_acks.acked_through, EXCLUDED.acked_through), "
                    "updated_at = now() RETURNING acked_through",
                    (org_id, stack_id, buffer_id, through),
                )
            ).fetchone()
        assert row is not None
        return int(row[0])


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

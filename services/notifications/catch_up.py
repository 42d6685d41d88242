"""The service's catch-up with its own events before it does anything else.

On start it notes the end of ``notifications.events.v1`` and waits until the consumer of that
topic (``projection.ChangeSink``, which stores its position per record, even for one it
dead-letters or passes over) has applied everything up to there. Work that decides or sends
(the ``sync.items.v1`` consumer, escalation, the alert feed, the sender) is started through
:meth:`CatchUp.after`, so after an empty-database rebuild it runs on the rebuilt state and
repeats nothing. While behind, ``notification_catch_up`` says so and the command handlers
refuse changes (they would otherwise land before older events still to be applied). In
normal operation the position is at the end already and this takes one query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from psycopg import sql

from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)
Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class CatchUp:
    def __init__(self, db: Database, log: Log, topic: str, positions: str, poll_s: float = 0.1) -> None:
        self._db = db
        self._log = log
        self._topic = topic
        self._select = sql.SQL("SELECT partition, next_offset FROM {} WHERE topic = %s").format(
            sql.Identifier(positions))
        self._poll_s = poll_s
        self.done = asyncio.Event()

    async def run(self, stopping: asyncio.Event) -> None:
        """Until caught up (or stopping); retried while the log or the database is away."""
        self.done.clear()
        while not stopping.is_set():
            try:
                ends = await self._log.end_offsets(self._topic)
                behind = await self._behind(ends, mark=True)
                while behind and not stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), self._poll_s)
                    behind = await self._behind(ends)
                if stopping.is_set():
                    return
                async with self._db.transaction() as conn:
                    await conn.execute("DELETE FROM notification_catch_up")
                self.done.set()
                return
            except Exception:
                _log.warning("catching up with %s failed; retrying", self._topic, exc_info=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), 1.0)

    async def _behind(self, ends: dict[int, int], *, mark: bool = False) -> int:
        """How many of the events up to ``ends`` are not applied yet (marked, if asked)."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(self._select, (self._topic,))
            applied = {int(p): int(o) for p, o in await cur.fetchall()}
            behind = sum(max(0, end - applied.get(p, 0)) for p, end in ends.items())
            if behind and mark:
                _log.info("%s: %d event(s) to apply before routing or sending anything", self._topic, behind)
                await conn.execute("INSERT INTO notification_catch_up (catching_up) VALUES (true) "
                                   "ON CONFLICT (only_row) DO UPDATE SET catching_up = true, since = now()")
        return behind

    def after(self, work: Work) -> Work:
        """``work``, started once caught up (not at all if stopped before)."""
        async def run(stopping: asyncio.Event) -> None:
            done = asyncio.ensure_future(self.done.wait())
            stopped = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait([done, stopped], return_when=asyncio.FIRST_COMPLETED)
            finally:
                done.cancel()
                stopped.cancel()
            if self.done.is_set() and not stopping.is_set():
                await work(stopping)
        return run

"""The service's catch-up with the log before it acts, in two stages.

1. **Its own events** (:class:`OwnEvents`). On start it notes the end of
   ``notifications.events.v1`` and waits until the consumer of that topic
   (``projection.ChangeSink``, which stores its position per record, even for one it
   dead-letters or passes over) has applied everything up to there; ``notifications.alerts.v1``
   likewise (``service.Notifications._catch_up_own_alert_events``). The consumers that decide
   (``sync.items.v1``, ``audit.alerts.v1``) are started through :meth:`OwnEvents.after`, so after
   an empty-database rebuild they find every request, rule and queued notification the log
   says there was, and decide nothing twice. While behind, ``notification_catch_up`` says so and
   the command handlers refuse changes (they would otherwise land before older events still
   to be applied).
2. **What it reads** (:class:`CatchUp`, the shared ``faramesh_cloud.consumer.catch_up``): the
   ``sync.items.v1`` and ``audit.alerts.v1`` consumers are replayed too, and until they have
   committed the ends those topics had at start, the requests mix what was read with what is
   still to come: a resolution is a daemon's snapshot on ``sync.items.v1``, not this service's
   event, so every request resolved in the history looks open until its snapshot is read. The
   escalation sweep would page for it (and the resolution, read next, would tell the page it
   had just sent). So the sweep and the sender start only once caught up, and
   ``Escalation.run_once`` escalates nothing before. Notices the replay queues meanwhile stay
   queued: one queued before the rebuild is there already (same id, queued once); one that
   was not (a resolution first read now, told to whoever the log says was sent the request)
   is new, and is sent once caught up. Changes are not refused in this stage.

In normal operation both are at the end already: one query, one look per consumer.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging

from psycopg import sql

from faramesh_cloud.consumer import catch_up
from faramesh_cloud.log.port import Log
from faramesh_cloud.sql.database import Database

_log = logging.getLogger(__name__)


class CatchUp(catch_up.CatchUp):
    """Stage 2: the ``sync.items.v1`` and ``audit.alerts.v1`` consumers at the ends of their topics."""

    def __init__(self, poll_s: float = 0.1) -> None:
        super().__init__("notifications", "escalation and sending", poll_s)


class OwnEvents:
    """Stage 1: the consumer of ``notifications.events.v1`` at the end of its topic."""

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

    def after(self, work: catch_up.Work) -> catch_up.Work:
        """``work``, started once caught up (not at all if stopped before)."""
        return catch_up.after(self.done, work)

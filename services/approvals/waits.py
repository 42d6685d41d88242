"""Long-poll wake-ups for ``PollDecisions``: a decision commits ``NOTIFY faramesh_approvals,
'<org_id>/<stack_id>'`` in its own transaction, wherever it was taken (the gateway's
in-process API in ``up``, another process in ``serve``: PostgreSQL carries the wake-up in
both run modes and with either log). The approvals service LISTENs on one dedicated session
(:class:`~faramesh_cloud.log.pg_listener.PgListener`) and wakes the polls waiting for that
stack. A lost session wakes every waiter (they re-read), and waiters re-check on their own
every ``recheck_s``, so a missed notification only delays a delivery, never loses it (the
delivery row is the truth; the notification is only a hint).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from psycopg import AsyncConnection

from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.wakeup import Signals, wait_any
from faramesh_cloud.sql.database import Database

CHANNEL: Final = "faramesh_approvals"
MAX_WAIT_S: Final = 60.0  # no caller holds a poll longer (ingest caps it lower: max_poll_wait)

T = TypeVar("T")


def stack_key(org_id: str, stack_id: str) -> str:
    return f"{org_id}/{stack_id}"


async def notify_delivery(conn: AsyncConnection[Any], org_id: str, stack_id: str) -> None:
    """Inside the decision's transaction: wake the stack's long polls once it commits."""
    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, stack_key(org_id, stack_id)))


class DeliveryWaits:
    """Who is waiting for which stack's deliveries. Until :meth:`start` (or after
    :meth:`stop`) there is no listener and waiters fall back to re-checking every
    ``fallback_s``."""

    def __init__(self, db: Database, *, recheck_s: float = 2.0, fallback_s: float = 0.25) -> None:
        self._listener = PgListener(db, CHANNEL)
        self._recheck_s = recheck_s
        self._fallback_s = fallback_s
        self._running = False
        self._closed = asyncio.Event()

    @property
    def signals(self) -> Signals:
        return self._listener.signals

    async def start(self) -> None:
        self._closed.clear()
        await self._listener.start()
        self._running = True

    async def stop(self) -> None:
        self._running = False
        self._closed.set()  # every wait returns now
        await self._listener.stop()

    async def until(self, org_id: str, stack_id: str, wait_s: float,
                    read: Callable[[], Awaitable[tuple[list[T], bool]]]) -> tuple[list[T], bool]:
        """``read()`` now; while it finds nothing, read again whenever the stack is notified
        (or on the re-check interval) until ``wait_s`` has passed."""
        loop = asyncio.get_running_loop()
        end = loop.time() + min(max(wait_s, 0.0), MAX_WAIT_S)
        while True:
            woken = self.signals.event(stack_key(org_id, stack_id))  # before reading: no wake-up is lost
            found, more = await read()
            remaining = end - loop.time()
            if found or remaining <= 0 or self._closed.is_set():
                return found, more
            step = self._recheck_s if self._running else self._fallback_s
            await wait_any([woken, self._closed], min(remaining, step))

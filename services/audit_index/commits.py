"""The index's commits as they happen, for those who show its live tail.

The sinks ``NOTIFY`` :data:`~faramesh_cloud.audit_index.postgres.TAIL_CHANNEL` with an
organisation's id when a batch that moved its tail commits. :class:`CommitWatch` holds the one
``LISTEN`` session of this process on that channel and hands what it hears out two ways:

* :attr:`CommitWatch.signals`: keyed one-shot wake-ups (``event(org_id)``), what a gateway in
  this process gives its live views (``up``: no socket, no serialisation);
* :meth:`CommitWatch.subscribe`: a :class:`Subscription` collecting the organisations whose
  tail moved since it was last read, what each ``WatchCommits`` stream of the internal API
  sends (``servicer.py``). Ids collect in a set, so a slow reader costs memory bounded by the
  number of organisations, and commits that come together go out as one message.

When the session drops, every waiter and subscription is told that anything may have moved
(``everything``), as a new one is."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable, Iterator

from faramesh_cloud.audit_index.postgres import TAIL_CHANNEL
from faramesh_cloud.log.pg_listener import PgListener
from faramesh_cloud.log.wakeup import Signals
from faramesh_cloud.sql.database import Database


class Subscription:
    """The organisations whose tail moved since the last :meth:`next` (and whether anything
    may have: a new subscription starts with ``everything``)."""

    def __init__(self) -> None:
        self._moved: set[str] = set()
        self._everything = True
        self._wake = asyncio.Event()
        self._wake.set()

    def add(self, org_id: str) -> None:
        self._moved.add(org_id)
        self._wake.set()

    def everything(self) -> None:
        self._everything = True
        self._wake.set()

    async def next(self) -> tuple[list[str], bool]:
        """Wait until something moved; (the organisations, whether anything may have)."""
        await self._wake.wait()
        self._wake.clear()
        moved, self._moved = sorted(self._moved), set()
        everything, self._everything = self._everything, False
        return moved, everything


class _Broadcast(Signals):
    """Signals that also tell every subscription."""

    def __init__(self) -> None:
        super().__init__()
        self.subscriptions: set[Subscription] = set()

    def fire(self, key: Hashable) -> None:
        super().fire(key)
        for subscription in self.subscriptions:
            subscription.add(str(key))

    def fire_all(self) -> None:
        super().fire_all()
        for subscription in self.subscriptions:
            subscription.everything()


class CommitWatch:
    def __init__(self, db: Database) -> None:
        self._signals = _Broadcast()
        self._listener = PgListener(db, TAIL_CHANNEL, signals=self._signals)

    @property
    def signals(self) -> Signals:
        return self._signals

    async def start(self) -> None:
        await self._listener.start()

    async def stop(self) -> None:
        await self._listener.stop()

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription()
        self._signals.subscriptions.add(subscription)
        try:
            yield subscription
        finally:
            self._signals.subscriptions.discard(subscription)

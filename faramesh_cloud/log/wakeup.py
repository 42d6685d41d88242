"""Wake-ups for log consumers: keyed one-shot signals and a wait on several of them."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterable


class Signals:
    """One-shot events by key. :meth:`event` returns the event the *next* :meth:`fire` of
    that key sets; take it before checking for data, then wait on it, and no wake-up that
    happens in between is lost."""

    def __init__(self) -> None:
        self._events: dict[Hashable, asyncio.Event] = {}

    def event(self, key: Hashable) -> asyncio.Event:
        found = self._events.get(key)
        if found is None:
            found = self._events[key] = asyncio.Event()
        return found

    def fire(self, key: Hashable) -> None:
        found = self._events.pop(key, None)
        if found is not None:
            found.set()

    def fire_all(self) -> None:
        events, self._events = self._events, {}
        for found in events.values():
            found.set()


async def wait_any(events: Iterable[asyncio.Event], timeout_s: float) -> bool:
    """Wait until one of ``events`` is set or ``timeout_s`` passes; True if one was set."""
    pending = list(events)
    if any(event.is_set() for event in pending):
        return True
    if timeout_s <= 0:
        return False
    waiters = [asyncio.ensure_future(event.wait()) for event in pending]
    try:
        done, _ = await asyncio.wait(
            waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return bool(done)

"""A service's long-running background work: consumer runners and sweeps sharing one stop
signal. Stopping lets each finish what it has in hand (a runner commits its batch)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


class BackgroundTasks:
    def __init__(self) -> None:
        self.stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, work: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str) -> None:
        """Run ``work(stopping)`` until it returns; it should return once ``stopping`` is set."""
        if not self._tasks:
            self.stopping = asyncio.Event()
        self._tasks.append(asyncio.create_task(work(self.stopping), name=name))

    async def stop(self) -> None:
        self.stopping.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    def failure(self) -> BaseException | None:
        """The exception a task died of, if one did (shown as the service's state)."""
        for task in self._tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                return task.exception()
        return None


async def until_woken(stopping: asyncio.Event, wakeup: asyncio.Event, timeout_s: float | None) -> None:
    """Wait until ``stopping`` or ``wakeup`` is set, or ``timeout_s`` passes (a loop's idle wait)."""
    waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def sweep_every(stopping: asyncio.Event, interval_s: float, work: Callable[[], Awaitable[int]],
                      wake: Callable[[], None], log: logging.Logger, what: str) -> None:
    """Run ``work()`` every ``interval_s`` until ``stopping``; ``wake()`` when it did something
    (a count above 0). A failure is logged (``"<what> failed; retrying"``) and the next run
    catches up: the database may be briefly away."""
    while not stopping.is_set():
        try:
            if await work():
                wake()
        except Exception:
            log.warning("%s failed; retrying", what, exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval_s)


async def send_loop(stopping: asyncio.Event, wakeup: asyncio.Event, interval_s: float,
                    deliver_due: Callable[[], Awaitable[int]], log: logging.Logger, what: str) -> None:
    """A sender: ``deliver_due()`` again at once while it finds work, else wait for ``wakeup``
    (something was queued), ``stopping`` or ``interval_s``. A failure is logged
    (``"<what> failed; retrying"``) and waited out like an idle round."""
    while not stopping.is_set():
        wakeup.clear()
        try:
            busy = await deliver_due()
        except Exception:
            log.warning("%s failed; retrying", what, exc_info=True)
            busy = 0
        if busy:
            continue
        await until_woken(stopping, wakeup, interval_s)

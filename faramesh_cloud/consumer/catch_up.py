"""A service's catch-up with the log before it acts on its state (shared by the services).

After an empty-database rebuild a service's consumers replay their topics side by side, so
until each has applied what its topic held when the service started, the state mixes facts
already read with facts still to come (an approval decided, a request resolved: not read
yet). Work that acts on that state (sweeps, senders, people's changes that check it) writes
or sends what the history never had. :class:`CatchUp` says when it may act: behind from
:meth:`CatchUp.begin` until every given runner has committed the end offsets its topic had at
start. In normal operation the committed offsets are at the ends already: one look each.
An object that is never begun (handlers used directly) is never behind.

What waits, and how a refused request is answered, is each service's own (its ``catch_up.py``);
this module only knows runners, offsets and when to start waiting work (:func:`after`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Final

from faramesh_cloud.consumer.runner import ConsumerRunner

Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
_TELL_AFTER: Final = 10  # looks behind before saying so (a normal start is caught up at once)
_log = logging.getLogger(__name__)


def after(done: asyncio.Event, work: Work) -> Work:
    """``work``, started once ``done`` is set (not at all if stopped before)."""
    async def run(stopping: asyncio.Event) -> None:
        finished = asyncio.ensure_future(done.wait())
        stopped = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait([finished, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            finished.cancel()
            stopped.cancel()
        if done.is_set() and not stopping.is_set():
            await work(stopping)
    return run


class CatchUp:
    """``service`` and ``waiting`` (what waits) name it in the log lines."""

    def __init__(self, service: str, waiting: str, poll_s: float = 0.1, first_s: float = 0.005) -> None:
        self._service = service
        self._waiting = waiting
        self._poll_s = poll_s  # between looks while behind, after a quick first few (a normal start)
        self._first_s = first_s
        self._behind = False
        self.done = asyncio.Event()

    @property
    def behind(self) -> bool:
        return self._behind

    def begin(self) -> None:
        """The service starts: behind until :meth:`run` has seen its consumers caught up
        (called before anything can act, so nothing slips in first)."""
        self._behind = True
        self.done.clear()

    def after(self, work: Work) -> Work:
        """``work``, started once caught up (not at all if stopped before)."""
        return after(self.done, work)

    async def run(self, runners: Sequence[ConsumerRunner[Any]], ends: Mapping[str, Mapping[int, int]],
                  stopping: asyncio.Event) -> None:
        """Until every runner has committed ``ends`` of its topic (or stopping); a runner not
        started yet is behind; a failed look (the log away) is retried."""
        looks, failures, pause = 0, 0, self._first_s
        while not stopping.is_set():
            try:
                if all([await r.caught_up(ends[r.topic]) for r in runners]):
                    self._behind = False
                    self.done.set()
                    if looks >= _TELL_AFTER:
                        _log.info("%s: caught up with the log; acting on its state again", self._service)
                    return
            except Exception:
                if failures % _TELL_AFTER == 0:  # the first, then every tenth: not a line per look
                    _log.warning("%s: looking at the consumers' positions failed; retrying", self._service,
                                 exc_info=True)
                failures += 1
            looks += 1
            if looks == _TELL_AFTER:
                _log.info("%s: reading the log up to where it ended at start before acting on anything "
                          "(%s wait)", self._service, self._waiting)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), pause)
            pause = min(pause * 2, self._poll_s)  # the runners join within a few ms on a normal start

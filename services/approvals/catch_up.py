"""The approvals service's catch-up with the log before it acts on its own state.

After an empty-database rebuild the projection's consumers replay ``sync.items.v1``,
``approvals.events.v1`` and ``commands.emergency.v1`` side by side, so until they have applied
what those topics held when the service started, its rows mix facts already read with facts
still to come: an approval decided before its deadline looks pending (its decision not read
yet) and overdue; a delivery or a command looks unacknowledged. Acting on that writes events
the history never had: the sweep would expire the approval (and the decision, read next,
would be dropped as "resolved otherwise first": the decision and its delivery lost), a
daemon's poll would hand out again what it had acknowledged, a person would decide what was
decided.

So, from start until every consumer has committed the ends the topics had then: the sweep
expires nothing, and daemons' polls and acknowledgements and people's decisions are refused
with :class:`CatchingUp` (UNAVAILABLE with ``retry-after`` over gRPC, 503 with Retry-After at the
gateway; daemons retry). Reads answer what is there. A kill / isolate is still accepted: it
reads no state, and an emergency cannot wait for a rebuild (daemons get it once caught up).
In normal operation the consumers' committed offsets are at the ends already: one look each.
An object that is never started (handlers used directly) is never behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from faramesh_cloud.consumer.runner import ConsumerRunner
from faramesh_cloud.rpc.errors import ServiceBusy

RETRY_AFTER_S: Final = 5
_TELL_AFTER: Final = 10  # looks behind before saying so (a normal start is caught up at once)
_log = logging.getLogger(__name__)


class CatchingUp(ServiceBusy):
    """The service is rebuilding its state from the log: not now, retry shortly."""

    def __init__(self) -> None:
        super().__init__("approvals", "The approvals service is rebuilding its state from the log; nothing was "
                                      "decided, handed out or acknowledged. Try again in a moment.", RETRY_AFTER_S)


class CatchUp:
    def __init__(self, poll_s: float = 0.1, first_s: float = 0.005) -> None:
        self._poll_s = poll_s  # between looks while behind, after a quick first few (a normal start)
        self._first_s = first_s
        self._behind = False
        self.done = asyncio.Event()

    @property
    def behind(self) -> bool:
        return self._behind

    def check(self) -> None:
        """Raise :class:`CatchingUp` while behind."""
        if self._behind:
            raise CatchingUp()

    def begin(self) -> None:
        """The service starts: behind until :meth:`run` has seen its consumers caught up
        (called before anything can act, so nothing slips in first)."""
        self._behind = True
        self.done.clear()

    async def run(self, runners: Sequence[ConsumerRunner[Any]], ends: Mapping[str, Mapping[int, int]],
                  stopping: asyncio.Event) -> None:
        """Until every runner has committed ``ends`` of its topic (or stopping); a failed look
        (the log away) is retried."""
        looks, failures, pause = 0, 0, self._first_s
        while not stopping.is_set():
            try:
                if all([await r.caught_up(ends[r.topic]) for r in runners]):
                    self._behind = False
                    self.done.set()
                    if looks >= _TELL_AFTER:
                        _log.info("approvals: caught up with the log; acting on its state again")
                    return
            except Exception:
                if failures % _TELL_AFTER == 0:  # the first, then every tenth: not a line per look
                    _log.warning("approvals: looking at the consumers' positions failed; retrying", exc_info=True)
                failures += 1
            looks += 1
            if looks == _TELL_AFTER:
                _log.info("approvals: reading the log up to where it ended at start before acting on anything "
                          "(decisions, daemons' polls and the expiry sweep wait)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), pause)
            pause = min(pause * 2, self._poll_s)  # the runners join within a few ms on a normal start

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
An object that is never started (handlers used directly) is never behind. The waiting itself is
the shared ``faramesh_cloud.consumer.catch_up``; what is refused, and how, is this module's."""

from __future__ import annotations

from typing import Final

from faramesh_cloud.consumer import catch_up
from faramesh_cloud.rpc.errors import ServiceBusy

RETRY_AFTER_S: Final = 5


class CatchingUp(ServiceBusy):
    """The service is rebuilding its state from the log: not now, retry shortly."""

    def __init__(self) -> None:
        super().__init__("approvals", "The approvals service is rebuilding its state from the log; nothing was "
                                      "decided, handed out or acknowledged. Try again in a moment.", RETRY_AFTER_S)


class CatchUp(catch_up.CatchUp):
    def __init__(self, poll_s: float = 0.1, first_s: float = 0.005) -> None:
        super().__init__("approvals", "decisions, daemons' polls and the expiry sweep", poll_s, first_s)

    def check(self) -> None:
        """Raise :class:`CatchingUp` while behind."""
        if self.behind:
            raise CatchingUp()

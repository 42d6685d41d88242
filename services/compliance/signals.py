"""What moves posture, read from the log: a consumer group (``compliance-signals``) on the
topics whose events change what the evidence queries and policy checks measure (approvals
decided or expired, emergency commands, chain-integrity alerts, a stack's status with its
applied governance.fms) marks the organisation for re-evaluation and wakes the sweep. It
writes no state, so committing after the mark is all its sink does; after a restart every
organisation is evaluated anyway. DPR arrivals themselves are measured by the sweep's
interval (a count of thousands per second need not wake it each time)."""

from __future__ import annotations

from typing import Final

from faramesh_cloud.events.topics import (
    APPROVAL_EVENTS,
    AUDIT_ALERTS,
    EMERGENCY_COMMANDS,
    H_KIND,
    H_ORG,
    SYNC_ITEMS,
)
from faramesh_cloud.log.port import Message

TOPICS: Final = (APPROVAL_EVENTS, EMERGENCY_COMMANDS, AUDIT_ALERTS, SYNC_ITEMS)
SYNC_KINDS: Final = frozenset({"stack_status"})  # of sync.items.v1: the applied policy may have changed


class SignalProcessor:
    """A record → the organisation it moves (None: nothing posture measures)."""

    def process(self, message: Message) -> str | None:
        if message.topic == SYNC_ITEMS and message.headers.get(H_KIND, b"").decode("utf-8", "replace") \
                not in SYNC_KINDS:
            return None
        org = message.headers.get(H_ORG, b"").decode("utf-8", "replace")
        return org or None


"""What the sync channel's Cloud → daemon methods ask of the rest of Cloud.

``PollDecisions`` / ``AckDecisions`` and ``PollEmergencyCommands`` / ``AckEmergencyCommand``
are answered by the approvals service. Ingest does not know how: the runtime injects a
:class:`DaemonControl` (the approvals service's gRPC client, or its in-process adapter).
Without one (ingest alone), the polls answer empty and an acknowledgement names a command
Cloud never sent. An implementation raises ``ConnectionError`` when the answer cannot be had
(the call then fails UNAVAILABLE and the daemon retries), ``rpc.errors.ServiceBusy`` (one of
them) when the service said "not now" (catching up with the log after a start): the daemon
is then told its reason and when to retry (RetryInfo).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from faramesh_cloud_api.sync.v1 import deliveries_pb2, emergency_pb2, sync_pb2


class DaemonControl(Protocol):
    async def poll_decisions(self, org_id: str, stack_id: str, limit: int,
                             wait_s: float = 0.0) -> tuple[list[deliveries_pb2.Delivery], bool]:
        """Unacknowledged deliveries for the stack, oldest first, and whether more wait. With
        ``wait_s`` > 0 and nothing waiting, hold the answer until a delivery for the stack
        appears or ``wait_s`` passes (the long poll)."""
        ...

    async def ack_decisions(self, org_id: str, stack_id: str, acks: Sequence[deliveries_pb2.DeliveryAck]) -> None:
        """Record the daemon's acknowledgements; unknown delivery ids are ignored."""
        ...

    async def poll_commands(self, org_id: str, stack_id: str) -> list[emergency_pb2.EmergencyCommand]:
        """Unacknowledged emergency commands for the stack, oldest first."""
        ...

    async def ack_command(self, org_id: str, stack_id: str, ack: sync_pb2.AckEmergencyCommandRequest) -> bool:
        """Close a command; False when it was never issued to this stack."""
        ...

    async def close(self) -> None:
        """Release connections (ingest stops)."""
        ...


class NoControl:
    """Nothing to deliver: the answer of an ingest running without the approvals service."""

    async def poll_decisions(self, org_id: str, stack_id: str, limit: int,
                             wait_s: float = 0.0) -> tuple[list[deliveries_pb2.Delivery], bool]:
        return [], False  # nothing will ever appear: answer at once

    async def ack_decisions(self, org_id: str, stack_id: str, acks: Sequence[deliveries_pb2.DeliveryAck]) -> None:
        return None

    async def poll_commands(self, org_id: str, stack_id: str) -> list[emergency_pb2.EmergencyCommand]:
        return []

    async def ack_command(self, org_id: str, stack_id: str, ack: sync_pb2.AckEmergencyCommandRequest) -> bool:
        return False

    async def close(self) -> None:
        return None

"""The approvals service as ingest's ``DaemonControl`` (in process): decisions and emergency
commands handed to daemons over the sync channel, and their acknowledgements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from faramesh_cloud_api.sync.v1 import deliveries_pb2, emergency_pb2, sync_pb2

from faramesh_cloud.approvals.decisions import Decisions
from faramesh_cloud.approvals.emergency import EmergencyCommands
from faramesh_cloud.approvals.events import command_outcome, delivery_outcome
from faramesh_cloud.approvals.waits import DeliveryWaits

DEFAULT_DELIVERIES = 100


def _text(value: str) -> str:
    """A daemon's free text as PostgreSQL can store it (text holds no NUL): otherwise the
    acknowledgement would fail on every retry and its delivery be handed out for ever."""
    return value.replace("\x00", "\ufffd")


def _applied_at(ack: sync_pb2.AckEmergencyCommandRequest) -> datetime | None:
    """When the daemon applied the command; unknown when unset or not a time at all (an
    acknowledgement is never refused for it: the daemon would retry it for ever)."""
    if not ack.HasField("applied_at"):
        return None
    try:
        return ack.applied_at.ToDatetime(tzinfo=UTC)
    except ValueError:
        return None


class ApprovalsControl:
    def __init__(self, decisions: Decisions, commands: EmergencyCommands, waits: DeliveryWaits) -> None:
        self._decisions = decisions
        self._commands = commands
        self._waits = waits

    async def poll_decisions(self, org_id: str, stack_id: str, limit: int,
                             wait_s: float = 0.0) -> tuple[list[deliveries_pb2.Delivery], bool]:
        """Unacknowledged deliveries; with ``wait_s`` and none waiting, held until a decision
        for this stack commits (or the wait ends)."""
        async def read() -> tuple[list[bytes], bool]:
            return await self._decisions.poll(org_id, stack_id, limit or DEFAULT_DELIVERIES)

        payloads, more = await self._waits.until(org_id, stack_id, wait_s, read)
        return [deliveries_pb2.Delivery.FromString(p) for p in payloads], more

    async def ack_decisions(self, org_id: str, stack_id: str, acks: Sequence[deliveries_pb2.DeliveryAck]) -> None:
        await self._decisions.ack(org_id, stack_id, [
            (a.delivery_id, delivery_outcome(a.outcome), _text(a.message), _text(a.dpr_record_id))
            for a in acks])

    async def poll_commands(self, org_id: str, stack_id: str) -> list[emergency_pb2.EmergencyCommand]:
        return [c.to_proto() for c in await self._commands.poll(org_id, stack_id)]

    async def ack_command(self, org_id: str, stack_id: str, ack: sync_pb2.AckEmergencyCommandRequest) -> bool:
        applied = _applied_at(ack)
        return await self._commands.ack(org_id, stack_id, ack.command_id, command_outcome(ack.outcome),
                                        applied, _text(ack.dpr_record_id), _text(ack.message))

    async def close(self) -> None:
        return None

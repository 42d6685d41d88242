"""The approvals service as ingest's ``DaemonControl`` (in process): decisions and emergency
commands handed to daemons over the sync channel, and their acknowledgements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from faramesh_cloud_api.sync.v1 import actor_pb2, deliveries_pb2, emergency_pb2, sync_pb2

from faramesh_cloud.approvals.decisions import Decisions
from faramesh_cloud.approvals.domain import CommandType
from faramesh_cloud.approvals.emergency import EmergencyCommands
from faramesh_cloud.approvals.events import COMMAND_TYPES, command_outcome, delivery_outcome
from faramesh_cloud.approvals.views import Command
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


def command_message(c: Command) -> emergency_pb2.EmergencyCommand:
    """An emergency command as its daemon receives it (sync v1)."""
    command = emergency_pb2.EmergencyCommand(
        command_id=c.command_id, type=COMMAND_TYPES[CommandType(c.command_type)], agent_id=c.agent_id,
        reason=c.reason, issued_by=actor_pb2.Actor(
            user_id=c.issued_by, email=c.issued_by_label if "@" in c.issued_by_label else "",
            display_name=c.issued_by_label))
    command.issued_at.FromDatetime(c.issued_at)
    return command


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
        return [command_message(c) for c in await self._commands.poll(org_id, stack_id)]

    async def ack_command(self, org_id: str, stack_id: str, ack: sync_pb2.AckEmergencyCommandRequest) -> bool:
        applied = _applied_at(ack)
        return await self._commands.ack(org_id, stack_id, ack.command_id, command_outcome(ack.outcome),
                                        applied, _text(ack.dpr_record_id), _text(ack.message))

    async def close(self) -> None:
        return None

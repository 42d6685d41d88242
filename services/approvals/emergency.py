"""Emergency commands (agent kill / isolate): issued by an operator with a mandatory reason,
queued per stack, handed out by the daemon's poll (``delivered``), closed by its
acknowledgement (``acknowledged``, with outcome and DPR id). Every command and every refused
attempt goes to the platform audit log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faramesh_cloud_api.sync.v1 import actor_pb2, emergency_pb2

from faramesh_cloud.approvals.decisions import as_uuid
from faramesh_cloud.approvals.domain import (
    CommandState,
    CommandType,
    DecisionRefused,
    UnknownApproval,
    check_reason,
)
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_TYPES = {CommandType.KILL: emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_KILL,
          CommandType.ISOLATE: emergency_pb2.EMERGENCY_COMMAND_TYPE_AGENT_ISOLATE}
_ACTIONS = {CommandType.KILL: AuditAction.AGENT_KILL_ISSUED, CommandType.ISOLATE: AuditAction.AGENT_ISOLATE_ISSUED}
OUTCOMES = {
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_APPLIED: "applied",
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_ALREADY_IN_EFFECT: "already_in_effect",
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_REJECTED: "rejected",
    emergency_pb2.EMERGENCY_COMMAND_OUTCOME_FAILED: "failed",
}
_COLUMNS = ("command_id, stack_id, agent_id, command_type, reason, issued_by, issued_by_label, issued_at, state, "
            "delivered_at, acked_at, applied_at, outcome, message, dpr_record_id")


class CommandRefused(DecisionRefused):
    """The caller may not issue this command (role, unknown stack); it was logged."""


@dataclass(frozen=True, slots=True)
class Command:
    command_id: str
    stack_id: str
    agent_id: str
    command_type: str
    reason: str
    issued_by: str
    issued_by_label: str
    issued_at: datetime
    state: str
    delivered_at: datetime | None
    acked_at: datetime | None
    applied_at: datetime | None
    outcome: str
    message: str
    dpr_record_id: str

    def to_proto(self) -> emergency_pb2.EmergencyCommand:
        command = emergency_pb2.EmergencyCommand(
            command_id=self.command_id, type=_TYPES[CommandType(self.command_type)], agent_id=self.agent_id,
            reason=self.reason, issued_by=actor_pb2.Actor(
                user_id=self.issued_by, email=self.issued_by_label if "@" in self.issued_by_label else "",
                display_name=self.issued_by_label))
        command.issued_at.FromDatetime(self.issued_at)
        return command


def _command(row: tuple[Any, ...]) -> Command:
    return Command(str(row[0]), *row[1:])


class EmergencyCommands:
    def __init__(self, db: Database, audit: PlatformAuditLog) -> None:
        self._db = db
        self._audit = audit

    async def issue(self, org_id: str, stack_id: str, agent_id: str, actor: Actor, reason: str,
                    command_type: CommandType, *, permitted: bool, stack_exists: bool = True) -> Command:
        """Queue a kill / isolate for ``stack_id``. ``permitted`` is the caller's role check
        (done by the caller, who knows the role table); a refused attempt is logged and
        raises :class:`CommandRefused`."""
        kind = CommandType(command_type)
        action = _ACTIONS[kind]
        details = {"stack_id": stack_id, "agent_id": agent_id, "reason": reason.strip()[:2000]}
        problem: str | None = None
        if not permitted:
            problem = f"your role does not include {action}; ask an owner, admin or operator"
        elif not stack_exists:
            problem = f"no stack {stack_id!r} in this organisation"
        elif not agent_id.strip():
            problem = "name the agent to " + kind.value
        if problem is None:
            try:
                text = check_reason(reason)
            except DecisionRefused as exc:
                problem = str(exc)
        if problem is not None:
            await self._audit.append(org_id, action, actor, target=Target("agent", agent_id[:200]),
                                     details={**details, "refused": problem})
            raise CommandRefused("forbidden" if not permitted else "invalid", problem)
        command_id = str(uuid.uuid4())
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "INSERT INTO emergency_commands (command_id, org_id, stack_id, agent_id, command_type, reason, "
                "issued_by, issued_by_label, issued_at, state) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp(), 'issued') "
                f"RETURNING {_COLUMNS}",
                (command_id, org_id, stack_id, agent_id.strip(), kind.value, text, actor.id, actor.label))
            row = await cur.fetchone()
            assert row is not None
            await self._audit.append_in(conn, org_id, action, actor, target=Target("agent", agent_id.strip()),
                                        details={**details, "reason": text, "command_id": command_id})
        return _command(row)

    async def list(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                   limit: int = 100) -> list[Command]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM emergency_commands WHERE org_id = %s "
                "AND (%s::text IS NULL OR stack_id = %s) AND (%s::text IS NULL OR agent_id = %s) "
                "ORDER BY issued_at DESC LIMIT %s", (org_id, stack_id, stack_id, agent_id, agent_id, limit))
            return [_command(r) for r in await cur.fetchall()]

    async def get(self, org_id: str, command_id: str) -> Command:
        key = as_uuid(command_id)
        if key is not None:
            async with tenant_transaction(self._db, org_id) as conn:
                cur = await conn.execute(f"SELECT {_COLUMNS} FROM emergency_commands WHERE org_id = %s "
                                         "AND command_id = %s", (org_id, key))
                row = await cur.fetchone()
                if row is not None:
                    return _command(row)
        raise UnknownApproval(f"no emergency command {command_id!r} in this organisation")

    # -- the sync channel -------------------------------------------------------------

    async def poll(self, org_id: str, stack_id: str) -> list[Command]:
        """Unacknowledged commands of this stack, oldest first; issued ones become delivered."""
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "UPDATE emergency_commands SET state = 'delivered', delivered_at = clock_timestamp() "
                "WHERE org_id = %s AND stack_id = %s AND state = 'issued'", (org_id, stack_id))
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM emergency_commands WHERE org_id = %s AND stack_id = %s "
                "AND state <> 'acknowledged' ORDER BY issued_at, command_id", (org_id, stack_id))
            return [_command(r) for r in await cur.fetchall()]

    async def ack(self, org_id: str, stack_id: str, command_id: str, outcome: str, applied_at: datetime | None,
                  dpr_record_id: str, message: str) -> bool:
        """Close a command; False when this stack was never sent it. A repeated ack of an
        acknowledged command is accepted and changes nothing."""
        key = as_uuid(command_id)
        if key is None:
            return False
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "UPDATE emergency_commands SET state = 'acknowledged', acked_at = clock_timestamp(), "
                "applied_at = %s, outcome = %s, dpr_record_id = %s, message = %s "
                "WHERE org_id = %s AND stack_id = %s AND command_id = %s AND state = 'delivered'",
                (applied_at, outcome, dpr_record_id, message[:2000], org_id, stack_id, key))
            if cur.rowcount:
                return True
            cur = await conn.execute(
                "SELECT state FROM emergency_commands WHERE org_id = %s AND stack_id = %s AND command_id = %s",
                (org_id, stack_id, key))
            row = await cur.fetchone()
            return row is not None and row[0] == CommandState.ACKNOWLEDGED.value

"""Emergency commands (agent kill / isolate): issued by an operator with a mandatory reason,
queued per stack, handed out by the daemon's poll (``delivered``), closed by its
acknowledgement (``acknowledged``, with outcome and DPR id). Every command and every refused
attempt goes to the platform audit log. The handlers of the ``commands.emergency.v1``
changes: each change is applied with the projection's ``apply`` and its event added to the
outbox in the transaction that makes it (``projection.publish``)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from faramesh_cloud.approvals.catch_up import CatchUp
from faramesh_cloud.approvals.changes import command_acknowledged, command_delivered, command_issued
from faramesh_cloud.approvals.decisions import as_uuid
from faramesh_cloud.approvals.domain import (
    CommandRefused,
    CommandState,
    CommandType,
    DecisionRefused,
    UnknownApproval,
    check_reason,
)
from faramesh_cloud.approvals.projection import OUTBOX, publish
from faramesh_cloud.approvals.views import Command
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_ACTIONS = {CommandType.KILL: AuditAction.AGENT_KILL_ISSUED, CommandType.ISOLATE: AuditAction.AGENT_ISOLATE_ISSUED}
_COLUMNS = ("command_id, stack_id, agent_id, command_type, reason, issued_by, issued_by_label, issued_at, state, "
            "delivered_at, acked_at, applied_at, outcome, message, dpr_record_id")


def _command(row: tuple[Any, ...]) -> Command:
    return Command(str(row[0]), *row[1:])


class EmergencyCommands:
    def __init__(self, db: Database, audit: PlatformAuditLog, outbox: Outbox | None = None,
                 catch_up: CatchUp | None = None) -> None:
        self._db = db
        self._audit = audit
        self._outbox = outbox or Outbox(OUTBOX)
        # Daemons' polls and acks wait while the service catches up with the log (catch_up.py);
        # issuing does not: it reads no state, and an emergency does not wait for a rebuild.
        self._catch_up = catch_up or CatchUp()

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
            now = await _now(conn)
            await publish(conn, self._outbox, [command_issued(org_id, stack_id, command_id, agent_id.strip(), kind,
                                                              text, actor, now)])
            await self._audit.append_in(conn, org_id, action, actor, target=Target("agent", agent_id.strip()),
                                        details={**details, "reason": text, "command_id": command_id})
            cur = await conn.execute(f"SELECT {_COLUMNS} FROM emergency_commands WHERE org_id = %s "
                                     "AND command_id = %s", (org_id, command_id))
            row = await cur.fetchone()
            assert row is not None
        return _command(row)

    async def list(self, org_id: str, *, stack_id: str | None = None, agent_id: str | None = None,
                   stacks: Collection[str] | None = None, limit: int = 100) -> list[Command]:
        """Newest first; ``stacks`` (None: all) limits the list to those stacks before ``limit``."""
        scope = None if stacks is None else list(stacks)
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM emergency_commands WHERE org_id = %s "
                "AND (%s::text IS NULL OR stack_id = %s) AND (%s::text IS NULL OR agent_id = %s) "
                "AND (%s::text[] IS NULL OR stack_id = ANY(%s::text[])) "
                "ORDER BY issued_at DESC LIMIT %s",
                (org_id, stack_id, stack_id, agent_id, agent_id, scope, scope, limit))
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
        self._catch_up.check()
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT command_id, clock_timestamp() FROM emergency_commands WHERE org_id = %s AND stack_id = %s "
                "AND state = 'issued' ORDER BY issued_at, command_id FOR UPDATE", (org_id, stack_id))
            await publish(conn, self._outbox, [command_delivered(org_id, stack_id, str(r[0]), r[1])
                                               for r in await cur.fetchall()])
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM emergency_commands WHERE org_id = %s AND stack_id = %s "
                "AND state <> 'acknowledged' ORDER BY issued_at, command_id", (org_id, stack_id))
            return [_command(r) for r in await cur.fetchall()]

    async def ack(self, org_id: str, stack_id: str, command_id: str, outcome: str, applied_at: datetime | None,
                  dpr_record_id: str, message: str) -> bool:
        """Close a delivered command; False when this stack was never sent it. A repeated ack
        of an acknowledged command is accepted and changes nothing."""
        self._catch_up.check()
        key = as_uuid(command_id)
        if key is None:
            return False
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT state, clock_timestamp() FROM emergency_commands WHERE org_id = %s AND stack_id = %s "
                "AND command_id = %s FOR UPDATE", (org_id, stack_id, key))
            row = await cur.fetchone()
            if row is None or row[0] == CommandState.ISSUED.value:
                return False
            if row[0] == CommandState.DELIVERED.value:
                await publish(conn, self._outbox, [command_acknowledged(
                    org_id, stack_id, key, outcome, applied_at, dpr_record_id, message[:2000], row[1])])
            return True


async def _now(conn: Any) -> datetime:
    row = await (await conn.execute("SELECT clock_timestamp()")).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]

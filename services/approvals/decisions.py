"""Human decisions on pending approvals, the expiry sweep, and the deliveries that carry
decisions to their daemon until it acknowledges them.

Exactly one decision wins: the decision is a conditional ``UPDATE ... WHERE state =
'pending' AND deadline > now()``; a concurrent second decider waits on the row lock, finds
the row no longer pending and gets :class:`Conflict` saying who decided first. The decision,
its delivery and its platform audit entry commit in one tenant transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faramesh_cloud_api.sync.v1 import actor_pb2, approvals_pb2, deliveries_pb2
from psycopg import AsyncConnection

from faramesh_cloud.approvals.domain import (
    Conflict,
    DecisionRefused,
    Pattern,
    State,
    UnknownApproval,
    Verdict,
    bulk_pattern,
    check_reason,
    refusal,
    withdrawal,
)
from faramesh_cloud.approvals.waits import notify_delivery
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Conn = AsyncConnection[Any]
_VERDICTS = {Verdict.APPROVE: approvals_pb2.APPROVAL_VERDICT_APPROVE, Verdict.DENY: approvals_pb2.APPROVAL_VERDICT_DENY}


@dataclass(frozen=True, slots=True)
class Decision:
    approval_id: str
    decision_id: str
    state: State
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class BulkResult:
    bulk_action_id: str
    decided: list[Decision]
    refused: dict[str, str]  # approval id -> why
    codes: dict[str, str] = field(default_factory=dict)  # approval id -> refusal code (already_resolved, ...)


def as_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _delivery(decision_id: str, row: Sequence[Any], verdict: Verdict, approver: Actor, reason: str,
              decided_at: datetime, bulk_action_id: str | None) -> deliveries_pb2.Delivery:
    defer_token, agent_id, dpr_record_id = row
    decision = approvals_pb2.ApprovalDecision(
        decision_id=decision_id, defer_token=defer_token, agent_id=agent_id, verdict=_VERDICTS[verdict],
        approver=actor_pb2.Actor(user_id=approver.id, email=approver.label if "@" in approver.label else "",
                                 display_name=approver.label),
        reason=reason, dpr_record_id=dpr_record_id, bulk_action_id=bulk_action_id or "",
    )
    decision.decided_at.FromDatetime(decided_at)
    delivery = deliveries_pb2.Delivery(delivery_id=decision_id, approval_decision=decision)
    delivery.created_at.FromDatetime(decided_at)
    return delivery


class Decisions:
    def __init__(self, db: Database, audit: PlatformAuditLog) -> None:
        self._db = db
        self._audit = audit

    async def decide(self, org_id: str, approval_id: str, approver: Actor, verdict: Verdict, reason: str,
                     *, allowed_stacks: frozenset[str] | None = None) -> Decision:
        """Approve or deny one pending approval. ``allowed_stacks`` (None: all) limits which
        stacks' approvals this approver may decide; others are unknown to them."""
        text = check_reason(reason)
        async with tenant_transaction(self._db, org_id) as conn:
            return await self._decide_in(conn, org_id, approval_id, approver, Verdict(verdict), text, None,
                                         allowed_stacks)

    async def bulk_decide(self, org_id: str, approval_ids: Sequence[str], approver: Actor, verdict: Verdict,
                          reason: str, *, allowed_stacks: frozenset[str] | None = None) -> BulkResult:
        """One reason for many approvals of one agent / tool / rule pattern (a selection that
        mixes patterns is refused as a whole, before anything is decided); each is decided
        (or refused: conflict, expired, withdrawn, unknown) on its own, so one already
        resolved does not block the others."""
        text = check_reason(reason)
        wanted = list(dict.fromkeys(approval_ids))
        known = await self._patterns(org_id, wanted, allowed_stacks)
        bulk_pattern(list(known.values()))  # raises DecisionRefused("mixed_pattern") naming what differs
        bulk_id = str(uuid.uuid4())
        decided: list[Decision] = []
        refused: dict[str, str] = {}
        codes: dict[str, str] = {}
        for approval_id in wanted:
            try:
                async with tenant_transaction(self._db, org_id) as conn:
                    decided.append(await self._decide_in(conn, org_id, approval_id, approver, Verdict(verdict),
                                                         text, bulk_id, allowed_stacks))
            except DecisionRefused as exc:
                refused[approval_id], codes[approval_id] = str(exc), exc.code
            except UnknownApproval as exc:
                refused[approval_id], codes[approval_id] = str(exc), "not_found"
        return BulkResult(bulk_id, decided, refused, codes)

    async def _patterns(self, org_id: str, approval_ids: Sequence[str],
                        allowed_stacks: frozenset[str] | None) -> dict[str, Pattern]:
        """(agent, tool, rule) of each selected approval this approver may see."""
        keys = [k for k in (as_uuid(i) for i in approval_ids) if k is not None]
        if not keys:
            return {}
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT approval_id, stack_id, agent_id, tool_id, matched_rule_id FROM approvals "
                "WHERE org_id = %s AND approval_id = ANY(%s::uuid[])", (org_id, keys))
            rows = await cur.fetchall()
        return {str(r[0]): Pattern(r[2], r[3], r[4]) for r in rows
                if allowed_stacks is None or r[1] in allowed_stacks}

    async def _decide_in(self, conn: Conn, org_id: str, approval_id: str, approver: Actor, verdict: Verdict,
                         reason: str, bulk_id: str | None, allowed_stacks: frozenset[str] | None) -> Decision:
        key = as_uuid(approval_id)
        missing = UnknownApproval(f"no approval {approval_id!r} in this organisation")
        if key is None:
            raise missing
        cur = await conn.execute(
            "SELECT stack_id FROM approvals WHERE org_id = %s AND approval_id = %s", (org_id, key))
        found = await cur.fetchone()
        if found is None or (allowed_stacks is not None and found[0] not in allowed_stacks):
            raise missing
        decision_id = str(uuid.uuid4())
        cur = await conn.execute(
            "UPDATE approvals SET state = %s, resolved_at = clock_timestamp(), resolved_by = %s, "
            "resolved_by_label = %s, resolution_reason = %s, resolution_source = 'cloud', decision_id = %s, "
            "bulk_action_id = %s WHERE org_id = %s AND approval_id = %s AND state = 'pending' "
            "AND deadline > clock_timestamp() "
            "RETURNING defer_token, agent_id, dpr_record_id, stack_id, resolved_at",
            (verdict.state.value, approver.id, approver.label, reason, decision_id, bulk_id, org_id, key))
        row = await cur.fetchone()
        if row is None:
            cur = await conn.execute(
                "SELECT state, deadline, COALESCE(NULLIF(resolved_by_label, ''), resolved_by), clock_timestamp(), "
                "daemon_state, resolution_reason FROM approvals "
                "WHERE org_id = %s AND approval_id = %s", (org_id, key))
            now_row = await cur.fetchone()
            assert now_row is not None
            why = refusal(State(now_row[0]), now_row[1], now_row[3], now_row[2],
                          withdrawal(now_row[4], now_row[2], now_row[5]))
            raise why if why is not None else Conflict("conflict", "this approval changed while you decided; reload it")
        stack_id, decided_at = row[3], row[4]
        delivery = _delivery(decision_id, row[:3], verdict, approver, reason, decided_at, bulk_id)
        await conn.execute(
            "INSERT INTO approval_deliveries (delivery_id, org_id, stack_id, approval_id, payload, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (decision_id, org_id, stack_id, key, delivery.SerializeToString(), decided_at))
        await notify_delivery(conn, org_id, stack_id)  # wakes the stack's long poll on commit
        await self._audit.append_in(conn, org_id, AuditAction.APPROVAL_DECIDED, approver,
                                    target=Target("approval", key),
                                    details={"verdict": verdict.value, "reason": reason, "stack_id": stack_id,
                                             "defer_token": row[0], "agent_id": row[1], "decision_id": decision_id,
                                             "bulk_action_id": bulk_id or ""})
        return Decision(key, decision_id, verdict.state, decided_at)

    async def expire_due(self) -> int:
        """Mark pending approvals past their deadline expired (every organisation); the
        daemon expires them on its side at the same deadline."""
        async with self._db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE approvals SET state = 'expired', resolved_at = deadline, resolution_source = 'timeout', "
                "resolution_reason = 'expired' WHERE state = 'pending' AND deadline <= clock_timestamp()")
            return cur.rowcount

    # -- the sync channel -------------------------------------------------------------

    async def poll(self, org_id: str, stack_id: str, limit: int) -> tuple[list[bytes], bool]:
        """Unacknowledged deliveries of this stack, oldest first (each hand-out counted;
        handed out again on every poll until acknowledged)."""
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "UPDATE approval_deliveries SET handed_out = handed_out + 1 WHERE delivery_id IN ("
                " SELECT delivery_id FROM approval_deliveries WHERE org_id = %s AND stack_id = %s "
                " AND acked_at IS NULL ORDER BY created_at, delivery_id LIMIT %s) "
                "RETURNING payload, created_at, delivery_id",
                (org_id, stack_id, limit + 1))
            rows = sorted(await cur.fetchall(), key=lambda r: (r[1], str(r[2])))
        return [bytes(r[0]) for r in rows[:limit]], len(rows) > limit

    async def ack(self, org_id: str, stack_id: str, acks: Sequence[tuple[str, str, str, str]]) -> int:
        """(delivery_id, outcome, message, dpr_record_id) per ack; unknown ids are ignored."""
        done = 0
        async with tenant_transaction(self._db, org_id) as conn:
            for delivery_id, outcome, message, record_id in acks:
                key = as_uuid(delivery_id)
                if key is None:
                    continue
                cur = await conn.execute(
                    "UPDATE approval_deliveries SET acked_at = clock_timestamp(), outcome = %s, message = %s, "
                    "dpr_record_id = %s WHERE org_id = %s AND stack_id = %s AND delivery_id = %s "
                    "AND acked_at IS NULL", (outcome, message[:2000], record_id, org_id, stack_id, key))
                done += cur.rowcount
        return done

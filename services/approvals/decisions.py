"""Human decisions on pending approvals, the expiry sweep, and the deliveries that carry
decisions to their daemon until it acknowledges them: the command handlers of the
``approvals.events.v1`` changes.

Each handler checks the rules against the service's own rows, builds the change
(``changes.py``), applies it with the projection's ``apply`` and adds its event to the
outbox (``projection.publish``), and writes the platform audit entry: one transaction.
Exactly one decision wins: the decider locks the approval's row (``FOR NO KEY UPDATE``) before
checking it is pending and before its deadline; a concurrent second decider waits on that
lock, then finds the row decided and gets :class:`Conflict` saying who decided first.

Hand-outs are bounded on the log: ``handed_out`` counts every poll that handed a delivery
out, but a ``DeliveryHandedOut`` (carrying the exact count) is written only for the first
hand-out, then at most once per ``hand_out_events_every_s`` per delivery (by a poll, or by
:meth:`Decisions.record_hand_outs` in the sweep for hand-outs no event carries yet), and
before the acknowledgement. So a daemon that polls and never acknowledges writes one event
per delivery per interval, not one per poll. A rebuild from the log shows the exact count of
every acknowledged delivery and of every open one not handed out in the last interval; an
open delivery handed out again within the last interval shows the count of its last event
until the sweep records the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from psycopg import AsyncConnection

from faramesh_cloud.approvals.catch_up import CatchUp
from faramesh_cloud.approvals.changes import decided, delivery_acknowledged, expired, handed_out
from faramesh_cloud.approvals.domain import (
    DecisionRefused,
    Pattern,
    State,
    UnknownApproval,
    Verdict,
    bulk_pattern,
    check_bulk_size,
    check_reason,
    refusal,
    withdrawal,
)
from faramesh_cloud.approvals.projection import OUTBOX, publish
from faramesh_cloud.approvals.views import BulkResult, Decision
from faramesh_cloud.approvals.waits import notify_delivery
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

Conn = AsyncConnection[Any]
EXPIRE_BATCH = 500
HAND_OUT_EVENTS_EVERY_S = 60.0


def as_uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def _approval(value: Any) -> str:
    """A delivery's approval id; '' for a delivery without one (a registry pack alert)."""
    return "" if value is None else str(value)


class Decisions:
    def __init__(self, db: Database, audit: PlatformAuditLog, outbox: Outbox | None = None,
                 catch_up: CatchUp | None = None, *, hand_out_events_every_s: float = HAND_OUT_EVENTS_EVERY_S) -> None:
        self._db = db
        self._hand_out_every = timedelta(seconds=hand_out_events_every_s)
        self._audit = audit
        self._outbox = outbox or Outbox(OUTBOX)
        self._catch_up = catch_up or CatchUp()  # never behind unless the service started it

    async def decide(self, org_id: str, approval_id: str, approver: Actor, verdict: Verdict, reason: str,
                     *, allowed_stacks: frozenset[str] | None = None) -> Decision:
        """Approve or deny one pending approval. ``allowed_stacks`` (None: all) limits which
        stacks' approvals this approver may decide; others are unknown to them."""
        self._catch_up.check()
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
        self._catch_up.check()
        text = check_reason(reason)
        wanted = list(dict.fromkeys(approval_ids))
        check_bulk_size(len(wanted))  # before anything is read or decided
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
            "SELECT stack_id, defer_token, agent_id, dpr_record_id, state, deadline, "
            "COALESCE(NULLIF(resolved_by_label, ''), resolved_by), daemon_state, resolution_reason, "
            "clock_timestamp() FROM approvals WHERE org_id = %s AND approval_id = %s FOR NO KEY UPDATE", (org_id, key))
        row = await cur.fetchone()
        if row is None or (allowed_stacks is not None and row[0] not in allowed_stacks):
            raise missing
        stack_id, token, agent_id, record_id, state, deadline, resolved_by, daemon_state, why, now = row
        refused = refusal(State(state), deadline, now, resolved_by, withdrawal(daemon_state, resolved_by, why))
        if refused is not None:
            raise refused
        change = decided(org_id, stack_id, key, token, verdict, approver, reason, bulk_id, agent_id, record_id, now)
        await publish(conn, self._outbox, [change])
        await notify_delivery(conn, org_id, stack_id)  # wakes the stack's long poll on commit
        await self._audit.append_in(conn, org_id, AuditAction.APPROVAL_DECIDED, approver,
                                    target=Target("approval", key),
                                    details={"verdict": verdict.value, "reason": reason, "stack_id": stack_id,
                                             "defer_token": token, "agent_id": agent_id,
                                             "decision_id": change.decision_id, "bulk_action_id": bulk_id or ""})
        return Decision(key, change.decision_id, verdict.state, now)

    async def expire_due(self) -> int:
        """Mark pending approvals past their deadline expired (every organisation), in
        batches; the daemon expires them on its side at the same deadline. Nothing while the
        service catches up with the log (``catch_up.py``: a row that looks overdue may be one
        whose decision is still to be read)."""
        return await self._sweep(
            "SELECT org_id, stack_id, approval_id, defer_token, agent_id, deadline FROM approvals "
            "WHERE state = 'pending' AND deadline <= clock_timestamp() ORDER BY deadline, approval_id "
            "LIMIT %s FOR UPDATE SKIP LOCKED", (),
            lambda r: expired(str(r[0]), r[1], str(r[2]), r[3], r[4], r[5]))

    async def _sweep(self, query: str, params: tuple[Any, ...], change: Callable[[Any], Any]) -> int:
        """The sweeps' loop (every organisation): rows of ``query`` (its last parameter the
        batch size, taken ``FOR UPDATE SKIP LOCKED``), each published as ``change(row)``, a batch
        per transaction until one comes back short; how many. Nothing while the service
        catches up with the log (``catch_up.py``)."""
        if self._catch_up.behind:
            return 0
        total = 0
        while True:
            async with self._db.transaction() as conn:
                rows = await (await conn.execute(query, (*params, EXPIRE_BATCH))).fetchall()
                await publish(conn, self._outbox, [change(r) for r in rows])
            total += len(rows)
            if len(rows) < EXPIRE_BATCH:
                return total

    # -- the sync channel -------------------------------------------------------------

    async def poll(self, org_id: str, stack_id: str, limit: int) -> tuple[list[bytes], bool]:
        """Unacknowledged deliveries of this stack, oldest first, handed out again on every
        poll until acknowledged. Each hand-out is counted; an event is written for the first
        and then at most once per interval per delivery (the module's doc)."""
        self._catch_up.check()
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT delivery_id, approval_id, handed_out, payload, clock_timestamp(), handed_out_logged_at "
                "FROM approval_deliveries WHERE org_id = %s AND stack_id = %s AND acked_at IS NULL "
                "ORDER BY created_at, delivery_id LIMIT %s FOR UPDATE", (org_id, stack_id, limit + 1))
            rows = await cur.fetchall()
            shown = rows[:limit]
            if shown:
                await conn.execute("UPDATE approval_deliveries SET handed_out = handed_out + 1 "
                                   "WHERE org_id = %s AND delivery_id = ANY(%s::uuid[])",
                                   (org_id, [r[0] for r in shown]))
            await publish(conn, self._outbox, [handed_out(org_id, stack_id, str(r[0]), _approval(r[1]), int(r[2]) + 1, r[4])
                                               for r in shown if r[5] is None or r[4] - r[5] >= self._hand_out_every])
        return [bytes(r[3]) for r in shown], len(rows) > limit

    async def record_hand_outs(self) -> int:
        """Write the hand-outs no event carries yet of deliveries whose last event is older
        than the interval (every organisation; the sweep calls it): how many events."""
        return await self._sweep(
            "SELECT org_id, stack_id, delivery_id, approval_id, handed_out, clock_timestamp() "
            "FROM approval_deliveries WHERE handed_out > handed_out_logged "
            "AND handed_out_logged_at <= clock_timestamp() - %s "
            "ORDER BY handed_out_logged_at LIMIT %s FOR UPDATE SKIP LOCKED", (self._hand_out_every,),
            lambda r: handed_out(str(r[0]), r[1], str(r[2]), _approval(r[3]), int(r[4]), r[5]))

    async def ack(self, org_id: str, stack_id: str, acks: Sequence[tuple[str, str, str, str]]) -> int:
        """(delivery_id, outcome, message, dpr_record_id) per ack; unknown or already
        acknowledged ids are ignored."""
        self._catch_up.check()
        done = 0
        async with tenant_transaction(self._db, org_id) as conn:
            for delivery_id, outcome, message, record_id in acks:
                key = as_uuid(delivery_id)
                if key is None:
                    continue
                cur = await conn.execute(
                    "SELECT approval_id, clock_timestamp(), handed_out, handed_out_logged FROM approval_deliveries "
                    "WHERE org_id = %s AND stack_id = %s AND delivery_id = %s AND acked_at IS NULL FOR UPDATE",
                    (org_id, stack_id, key))
                row = await cur.fetchone()
                if row is None:
                    continue
                if int(row[2]) > int(row[3]):  # hand-outs no event carries yet: the exact count goes first
                    await publish(conn, self._outbox, [handed_out(org_id, stack_id, key, _approval(row[0]), int(row[2]),
                                                                  row[1])])
                await publish(conn, self._outbox, [delivery_acknowledged(
                    org_id, stack_id, key, _approval(row[0]), outcome, message[:2000], record_id, row[1])])
                done += 1
        return done

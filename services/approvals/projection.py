"""The approvals projection: one ``apply(conn, change)`` for every change of the service's
tables, used by the command handlers (in their transaction, before adding the event to the
outbox) and by the consumer of the service's topics (``sync.items.v1``'s approval
snapshots, ``approvals.events.v1``, ``commands.emergency.v1``, ``registry.events.v1``'s pack alerts), which stores its log
position in the same transaction (``approvals_positions``), so a redelivered batch changes
nothing.

Every apply is idempotent (re-applying a change already applied changes nothing: each is
guarded by what it set) and the rows converge whatever order the three topics arrive in:

1. A Cloud event about an approval whose daemon snapshot has not arrived yet (a replay
   reading ``approvals.events.v1`` first) makes a placeholder row (``snapshot_seen`` false)
   under the approval's id, uuid5 of (org, stack, defer token), with what the event knows;
   the first snapshot fills in the approval's facts, exactly as it would have inserted them.
2. Cloud's resolution (``cloud_*``: a decision or an expiry) and the daemon's last resolved
   report (``daemon_*``) are stored apart, and what people see (``state``, ``resolved_*``,
   ``resolution_*``) is computed from both by ``domain.resolution``, which gives the same
   answer in either order.
3. Deliveries and commands change only through their own topic, where one stack's events
   are in commit order, so they need no merging: a decision inserts its delivery (by id),
   a hand-out raises the count to the one it names, an acknowledgement and a command's
   delivery and acknowledgement apply only to a row not yet in that state.
4. A registry pack alert's delivery (``pack_alerts.py``) is inserted from
   ``registry.events.v1``, another topic than its hand-outs and acknowledgement: a replay
   may read those first, so they make a placeholder row (empty payload) under the alert's
   id, and the alert fills in its payload and time when it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection, sql

from faramesh_cloud.approvals.changes import (
    ApprovalDecided,
    ApprovalExpired,
    Change,
    Consumed,
    DeliveryAcknowledged,
    DeliveryHandedOut,
    EmergencyCommandAcknowledged,
    EmergencyCommandDelivered,
    EmergencyCommandIssued,
    approval_key,
    topic_of,
)
from faramesh_cloud.approvals.domain import Resolution as Account
from faramesh_cloud.approvals.domain import State, resolution
from faramesh_cloud.approvals.events import delivery_payload, encode
from faramesh_cloud.approvals.pack_alerts import DELIVERY_KIND, PackAlertQueued
from faramesh_cloud.approvals.processor import ApprovalFact
from faramesh_cloud.approvals.waits import notify_delivery
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

Conn = AsyncConnection[Any]
POSITIONS: Final = "approvals_positions"
OUTBOX: Final = "approvals_outbox"

_ROW: Final = ("approval_id, snapshot_seen, cloud_state, cloud_resolved_at, cloud_resolved_by, "
               "cloud_resolved_by_label, cloud_reason, decision_id, daemon_state, daemon_resolved_at, "
               "daemon_resolved_by, daemon_reason, daemon_source")


@dataclass(slots=True)
class _Row:
    """The parts of an approval row the projection merges."""

    approval_id: str
    snapshot_seen: bool
    cloud: Account | None
    decision_id: str | None
    daemon: Account | None

    @classmethod
    def of(cls, r: Sequence[Any]) -> _Row:
        cloud = None if not r[2] else Account(State(r[2]), r[3], r[4], r[5], r[6],
                                                 "timeout" if r[2] == State.EXPIRED else "cloud")
        daemon = None if r[8] == State.PENDING else Account(State(r[8]), r[9], r[10], "", r[11], r[12])
        return cls(str(r[0]), bool(r[1]), cloud, None if r[7] is None else str(r[7]), daemon)

    def visible(self) -> dict[str, Any]:
        shown = resolution(self.cloud, self.daemon)
        return {"state": shown.state.value, "resolved_at": shown.at, "resolved_by": shown.by,
                "resolved_by_label": shown.by_label, "resolution_reason": shown.reason,
                "resolution_source": shown.source}


async def _locked(conn: Conn, org_id: str, stack_id: str, defer_token: str, approval_id: str, agent_id: str,
                  dpr_record_id: str, at: datetime) -> _Row:
    """The approval's row, locked; a placeholder first if there is none yet. ``FOR NO KEY
    UPDATE``: writers of the row wait for each other, but a foreign-key check from a delivery
    (KEY SHARE) passes, so a daemon's ack cannot deadlock with a re-applied decision."""
    await conn.execute(
        "INSERT INTO approvals (approval_id, org_id, stack_id, defer_token, agent_id, dpr_record_id, created_at, "
        "deadline, state, snapshot_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'pending', false) "
        "ON CONFLICT DO NOTHING",
        (approval_id, org_id, stack_id, defer_token, agent_id, dpr_record_id, at, at))
    cur = await conn.execute(f"SELECT {_ROW} FROM approvals WHERE org_id = %s AND stack_id = %s "
                             "AND defer_token = %s FOR NO KEY UPDATE", (org_id, stack_id, defer_token))
    found = await cur.fetchone()
    assert found is not None, "the row was just made or already there"
    return _Row.of(found)


async def _update(conn: Conn, row: _Row, values: dict[str, Any]) -> None:
    values = {**values, **row.visible()}
    assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in values)
    await conn.execute(sql.SQL("UPDATE approvals SET {} WHERE approval_id = %s").format(assignments),
                       (*values.values(), row.approval_id))


async def _snapshot(conn: Conn, fact: ApprovalFact) -> None:
    """The daemon's report of an approval: its facts (once), its deadline, its resolution."""
    row = await _locked(conn, fact.org_id, fact.stack_id, fact.defer_token,
                        approval_key(fact.org_id, fact.stack_id, fact.defer_token), fact.agent_id,
                        fact.dpr_record_id, fact.created_at)
    values: dict[str, Any] = {}
    if not row.snapshot_seen:
        values.update(agent_id=fact.agent_id, tool_id=fact.tool_id, session_id=fact.session_id,
                      args_json=fact.args_json, matched_rule_id=fact.matched_rule_id, reason_code=fact.reason_code,
                      reason=fact.reason, priority=fact.priority, dpr_record_id=fact.dpr_record_id,
                      policy_version=fact.policy_version, created_at=fact.created_at, deadline=fact.deadline,
                      snapshot_seen=True)
    if fact.state is State.PENDING:
        values["deadline"] = fact.deadline  # a re-sent snapshot (e.g. a sign-off) refreshes it
    else:
        row.daemon = Account(fact.state, fact.resolved_at, fact.resolved_by, "", fact.resolution_reason,
                             fact.resolution_source)
        values.update(daemon_state=fact.state.value, daemon_resolved_at=fact.resolved_at,
                      daemon_resolved_by=fact.resolved_by, daemon_reason=fact.resolution_reason,
                      daemon_source=fact.resolution_source)
    await _update(conn, row, values)


async def _decided(conn: Conn, change: ApprovalDecided) -> None:
    row = await _locked(conn, change.org_id, change.stack_id, change.defer_token, change.approval_id,
                        change.agent_id, change.dpr_record_id, change.occurred_at)
    if row.decision_id is None and row.cloud is None:
        state = change.verdict.state
        row.cloud = Account(state, change.occurred_at, change.approver.id, change.approver.label, change.reason,
                            "cloud")
        await _update(conn, row, {
            "cloud_state": state.value, "cloud_resolved_at": change.occurred_at,
            "cloud_resolved_by": change.approver.id, "cloud_resolved_by_label": change.approver.label,
            "cloud_reason": change.reason, "decision_id": change.decision_id,
            "bulk_action_id": change.bulk_action_id or None})
    elif row.decision_id != change.decision_id:
        return  # resolved otherwise first (one writer decides, so a log never holds both)
    await conn.execute(
        "INSERT INTO approval_deliveries (delivery_id, org_id, stack_id, approval_id, payload, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (delivery_id) DO NOTHING",
        (change.decision_id, change.org_id, change.stack_id, row.approval_id, delivery_payload(change),
         change.occurred_at))


async def _expired(conn: Conn, change: ApprovalExpired) -> None:
    row = await _locked(conn, change.org_id, change.stack_id, change.defer_token, change.approval_id,
                        change.agent_id, "", change.occurred_at)
    if row.decision_id is not None or row.cloud is not None:
        return
    row.cloud = Account(State.EXPIRED, change.occurred_at, "", "", "expired", "timeout")
    await _update(conn, row, {"cloud_state": State.EXPIRED.value, "cloud_resolved_at": change.occurred_at,
                              "cloud_reason": "expired"})


async def _alert_placeholder(conn: Conn, org_id: str, stack_id: str, delivery_id: str, approval_id: str,
                             at: datetime) -> None:
    """A pack alert's hand-out or acknowledgement read before the alert (a replay): its row."""
    if not approval_id:
        await conn.execute(
            "INSERT INTO approval_deliveries (delivery_id, org_id, stack_id, kind, payload, created_at) "
            "VALUES (%s, %s, %s, %s, ''::bytea, %s) ON CONFLICT (delivery_id) DO NOTHING",
            (delivery_id, org_id, stack_id, DELIVERY_KIND, at))


async def _alert_queued(conn: Conn, alert: PackAlertQueued) -> None:
    """A registry pack alert becomes its stack's delivery (once: its id is the alert's)."""
    await conn.execute(
        "INSERT INTO approval_deliveries AS d (delivery_id, org_id, stack_id, kind, payload, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (delivery_id) DO UPDATE SET payload = EXCLUDED.payload, "
        "created_at = EXCLUDED.created_at WHERE d.payload = ''::bytea AND d.org_id = EXCLUDED.org_id "
        "AND d.stack_id = EXCLUDED.stack_id AND d.kind = EXCLUDED.kind",
        (alert.delivery_id, alert.org_id, alert.stack_id, DELIVERY_KIND, alert.payload, alert.raised_at))
    await notify_delivery(conn, alert.org_id, alert.stack_id)  # wakes the stack's long poll on commit


async def _handed_out(conn: Conn, change: DeliveryHandedOut) -> None:
    await _alert_placeholder(conn, change.org_id, change.stack_id, change.delivery_id, change.approval_id,
                             change.occurred_at)
    await conn.execute("UPDATE approval_deliveries SET handed_out = GREATEST(handed_out, %s), "
                       "handed_out_logged = GREATEST(handed_out_logged, %s), "
                       "handed_out_logged_at = GREATEST(handed_out_logged_at, %s) "
                       "WHERE org_id = %s AND delivery_id = %s",
                       (change.handed_out, change.handed_out, change.occurred_at, change.org_id, change.delivery_id))


async def _delivery_acknowledged(conn: Conn, change: DeliveryAcknowledged) -> None:
    await _alert_placeholder(conn, change.org_id, change.stack_id, change.delivery_id, change.approval_id,
                             change.occurred_at)
    await conn.execute(
        "UPDATE approval_deliveries SET acked_at = %s, outcome = %s, message = %s, dpr_record_id = %s "
        "WHERE org_id = %s AND delivery_id = %s AND acked_at IS NULL",
        (change.occurred_at, change.outcome, change.message, change.dpr_record_id, change.org_id,
         change.delivery_id))


async def _issued(conn: Conn, change: EmergencyCommandIssued) -> None:
    await conn.execute(
        "INSERT INTO emergency_commands (command_id, org_id, stack_id, agent_id, command_type, reason, issued_by, "
        "issued_by_label, issued_at, state) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'issued') "
        "ON CONFLICT (command_id) DO NOTHING",
        (change.command_id, change.org_id, change.stack_id, change.agent_id, change.command_type.value,
         change.reason, change.issued_by.id, change.issued_by.label, change.occurred_at))


async def _delivered(conn: Conn, change: EmergencyCommandDelivered) -> None:
    await conn.execute("UPDATE emergency_commands SET state = 'delivered', delivered_at = %s "
                       "WHERE org_id = %s AND command_id = %s AND state = 'issued'",
                       (change.occurred_at, change.org_id, change.command_id))


async def _command_acknowledged(conn: Conn, change: EmergencyCommandAcknowledged) -> None:
    await conn.execute(
        "UPDATE emergency_commands SET state = 'acknowledged', acked_at = %s, applied_at = %s, outcome = %s, "
        "dpr_record_id = %s, message = %s WHERE org_id = %s AND command_id = %s AND state <> 'acknowledged'",
        (change.occurred_at, change.applied_at, change.outcome, change.dpr_record_id, change.message,
         change.org_id, change.command_id))


async def apply(conn: Conn, change: ApprovalFact | PackAlertQueued | Change) -> None:
    """Apply one change to the service's tables in ``conn``'s transaction (idempotent)."""
    match change:
        case PackAlertQueued():
            await _alert_queued(conn, change)
        case ApprovalFact():
            await _snapshot(conn, change)
        case ApprovalDecided():
            await _decided(conn, change)
        case ApprovalExpired():
            await _expired(conn, change)
        case DeliveryHandedOut():
            await _handed_out(conn, change)
        case DeliveryAcknowledged():
            await _delivery_acknowledged(conn, change)
        case EmergencyCommandIssued():
            await _issued(conn, change)
        case EmergencyCommandDelivered():
            await _delivered(conn, change)
        case EmergencyCommandAcknowledged():
            await _command_acknowledged(conn, change)


async def publish(conn: Conn, outbox: Outbox, changes: Sequence[Change]) -> None:
    """What a command handler does with the changes it decided, in its transaction: apply
    each, then add their events to the outbox in the same order."""
    for change in changes:
        await apply(conn, change)
    start = 0
    for end in range(1, len(changes) + 1):  # one insert per run of one topic, order kept
        if end == len(changes) or topic_of(changes[end]) != topic_of(changes[start]):
            await outbox.add(conn, topic_of(changes[start]), [encode(c) for c in changes[start:end]])
            start = end


async def _apply_row(conn: Conn, row: ApprovalFact | PackAlertQueued | Consumed) -> None:
    await apply(conn, row.change if isinstance(row, Consumed) else row)


class ApprovalSink:
    """The consumer's sink, for any of the service's topics."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[ApprovalFact | PackAlertQueued | Consumed]) -> None:
        if not rows:
            return
        async with self._db.transaction() as conn:
            await apply_unseen(conn, POSITIONS, rows, _apply_row)

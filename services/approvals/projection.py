"""The approvals projection sink: ApprovalFacts into PostgreSQL with the consumed log
position in the same transaction, so a redelivered batch or a replay from offset 0 changes
nothing (messages below the stored position are skipped)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from psycopg import AsyncConnection

from faramesh_cloud.approvals.domain import State, after_daemon_event
from faramesh_cloud.approvals.processor import ApprovalFact
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.positions import apply_unseen

Conn = AsyncConnection[Any]
POSITIONS: Final = "approvals_positions"


async def apply_fact(conn: Conn, fact: ApprovalFact) -> None:
    cur = await conn.execute(
        "SELECT state FROM approvals WHERE org_id = %s AND stack_id = %s AND defer_token = %s FOR UPDATE",
        (fact.org_id, fact.stack_id, fact.defer_token))
    row = await cur.fetchone()
    current = State(row[0]) if row is not None else None
    if row is None:
        state = after_daemon_event(None, fact.state, fact.resolution_source)
        await conn.execute(
            "INSERT INTO approvals (org_id, stack_id, defer_token, agent_id, tool_id, session_id, args_json, "
            "matched_rule_id, reason_code, reason, priority, dpr_record_id, policy_version, created_at, deadline, "
            "state, daemon_state, resolved_at, resolved_by, resolution_reason, resolution_source) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (fact.org_id, fact.stack_id, fact.defer_token, fact.agent_id, fact.tool_id, fact.session_id,
             fact.args_json, fact.matched_rule_id, fact.reason_code, fact.reason, fact.priority,
             fact.dpr_record_id, fact.policy_version, fact.created_at, fact.deadline, state.value,
             fact.state.value, fact.resolved_at, fact.resolved_by, fact.resolution_reason,
             fact.resolution_source))
        return
    if fact.state is State.PENDING:
        await conn.execute(  # a re-sent snapshot (e.g. a sign-off): refresh the facts only
            "UPDATE approvals SET deadline = %s WHERE org_id = %s AND stack_id = %s AND defer_token = %s",
            (fact.deadline, fact.org_id, fact.stack_id, fact.defer_token))
        return
    # The daemon resolved it. Its outcome is authoritative (a verdict taken on the daemon host
    # withdraws the approval from Cloud; daemon_state keeps what the daemon did); a Cloud
    # decision it applied keeps the approver and reason Cloud recorded.
    keep_cloud = current in (State.APPROVED, State.DENIED) and fact.resolution_source == "cloud"
    await conn.execute(
        "UPDATE approvals SET state = %s, daemon_state = %s, "
        "resolved_at = CASE WHEN %s THEN resolved_at ELSE %s END, "
        "resolved_by = CASE WHEN %s THEN resolved_by ELSE %s END, "
        "resolution_reason = CASE WHEN %s THEN resolution_reason ELSE %s END, "
        "resolution_source = CASE WHEN %s THEN resolution_source ELSE %s END "
        "WHERE org_id = %s AND stack_id = %s AND defer_token = %s",
        (after_daemon_event(current, fact.state, fact.resolution_source).value, fact.state.value,
         keep_cloud, fact.resolved_at, keep_cloud, fact.resolved_by, keep_cloud, fact.resolution_reason,
         keep_cloud, fact.resolution_source or "daemon", fact.org_id, fact.stack_id, fact.defer_token))


class ApprovalSink:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def write(self, rows: Sequence[ApprovalFact]) -> None:
        if not rows:
            return
        async with self._db.transaction() as conn:
            await apply_unseen(conn, POSITIONS, rows, apply_fact)

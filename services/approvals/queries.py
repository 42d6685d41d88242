"""Read side for people: the pending queue (oldest first), one approval, the history, and the
workflow summary of a range (``summary.py``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faramesh_cloud.approvals.decisions import as_uuid
from faramesh_cloud.approvals.domain import UnknownApproval
from faramesh_cloud.approvals.summary import summarize
from faramesh_cloud.approvals.views import Approval, ApprovalSummary
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_COLUMNS = ("approval_id, stack_id, defer_token, agent_id, tool_id, session_id, args_json, matched_rule_id, "
            "reason_code, reason, priority, dpr_record_id, policy_version, created_at, deadline, state, "
            "resolved_at, resolved_by, resolved_by_label, resolution_reason, resolution_source, decision_id, "
            "bulk_action_id, clock_timestamp(), "
            "COALESCE((SELECT d.dpr_record_id FROM approval_deliveries d WHERE d.org_id = approvals.org_id "
            "AND d.delivery_id = approvals.decision_id), ''), daemon_state")


def _approval(row: tuple[Any, ...]) -> Approval:
    values = list(row)
    values[0] = str(values[0])
    values[21] = str(values[21]) if values[21] is not None else ""
    values[22] = str(values[22]) if values[22] is not None else ""
    return Approval(*values)


@dataclass(frozen=True, slots=True)
class QueueFilter:
    stack_id: str | None = None
    agent_id: str | None = None
    tool_id: str | None = None
    stacks: Collection[str] | None = None  # the stacks the reader may see (None: all)
    rule_id: str | None = None


class ApprovalQueries:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _select(self, org_id: str, where: str, params: tuple[Any, ...], f: QueueFilter,
                      order: str, limit: int) -> list[Approval]:
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM approvals WHERE org_id = %s AND {where} "
                "AND (%s::text IS NULL OR stack_id = %s) AND (%s::text IS NULL OR agent_id = %s) "
                "AND (%s::text IS NULL OR tool_id = %s) AND (%s::text[] IS NULL OR stack_id = ANY(%s::text[])) "
                "AND (%s::text IS NULL OR matched_rule_id = %s) "
                f"ORDER BY {order} LIMIT %s",
                (org_id, *params, f.stack_id, f.stack_id, f.agent_id, f.agent_id, f.tool_id, f.tool_id,
                 None if f.stacks is None else list(f.stacks), None if f.stacks is None else list(f.stacks),
                 f.rule_id, f.rule_id, limit))
            return [_approval(r) for r in await cur.fetchall()]

    async def pending(self, org_id: str, where: QueueFilter | None = None, *, limit: int = 500) -> list[Approval]:
        """Pending approvals whose deadline has not passed, oldest first."""
        return await self._select(org_id, "state = 'pending' AND deadline > clock_timestamp()", (),
                                  where or QueueFilter(), "created_at, approval_id", limit)

    async def history(self, org_id: str, where: QueueFilter | None = None, *, limit: int = 200) -> list[Approval]:
        return await self._select(org_id, "state <> 'pending'", (), where or QueueFilter(),
                                  "resolved_at DESC NULLS LAST, approval_id", limit)

    async def get(self, org_id: str, approval_id: str, stacks: Collection[str] | None = None) -> Approval:
        key = as_uuid(approval_id)
        if key is not None:
            found = await self._select(org_id, "approval_id = %s", (key,), QueueFilter(stacks=stacks),
                                       "approval_id", 1)
            if found:
                return found[0]
        raise UnknownApproval(f"no approval {approval_id!r} in this organisation")

    async def delivery(self, org_id: str, decision_id: str) -> tuple[int, datetime | None, str, str] | None:
        """(times handed out, acked at, outcome, DPR id) of a decision's delivery."""
        key = as_uuid(decision_id)
        if key is None:
            return None
        async with tenant_transaction(self._db, org_id) as conn:
            cur = await conn.execute(
                "SELECT handed_out, acked_at, outcome, dpr_record_id FROM approval_deliveries "
                "WHERE org_id = %s AND delivery_id = %s", (org_id, key))
            row = await cur.fetchone()
            return None if row is None else (int(row[0]), row[1], row[2], row[3])

    async def summary(self, org_id: str, *, stacks: Collection[str] | None, start: datetime,
                      end: datetime) -> ApprovalSummary:
        """Approvals created and emergency commands issued in [start, end) (``summary.py``)."""
        return await summarize(self._db, org_id, stacks=stacks, start=start, end=end)

"""The approval workflow summary of a range (what a compliance report and its evidence
queries read): one statement over the approvals created in [start, end) and the emergency
commands issued in it, aggregated by PostgreSQL (``percentile_cont``), so the service sends
one row whatever the range holds. Scoped to one organisation (and the stacks asked); the
indexes ``approvals_created`` / ``emergency_commands_issued`` (migration 0005) bound it to
the range.

What is counted:

* outcomes: each approval created in the range by its state now (``pending`` includes an
  overdue one the expiry sweep has not reached yet);
* pending time: created to resolved, in seconds, of the resolved ones (never negative: a
  daemon clock ahead of Cloud's counts as 0); median and p95 by ``percentile_cont``
  (interpolated), None when none is resolved;
* approvers: the decisions taken in Cloud (Cloud's own account: a decision the daemon then
  overrode on its host still counts as the approver's decision), per approver id, with the
  label of their latest decision, single and bulk apart;
* bulk actions: distinct bulk actions that decided approvals of the range, and how many;
* emergency commands issued in the range, per type: acknowledged by the daemon, applied
  (outcome ``applied`` or ``already_in_effect``), median seconds from issue to
  acknowledgement."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Final

from faramesh_cloud.approvals.domain import CommandType
from faramesh_cloud.approvals.views import ApprovalSummary, ApproverCount, CommandCount
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

APPLIED: Final = ("applied", "already_in_effect")

_SQL: Final = """
WITH a AS MATERIALIZED (
    SELECT state, created_at, resolved_at, cloud_state, cloud_resolved_at, cloud_resolved_by,
           cloud_resolved_by_label, bulk_action_id
    FROM approvals
    WHERE org_id = %(org)s AND created_at >= %(start)s AND created_at < %(end)s
      AND (%(stacks)s::text[] IS NULL OR stack_id = ANY(%(stacks)s::text[]))
), who AS (
    SELECT cloud_resolved_by AS id,
           (array_agg(cloud_resolved_by_label ORDER BY cloud_resolved_at DESC NULLS LAST))[1] AS label,
           count(*) FILTER (WHERE cloud_state = 'approved') AS approved,
           count(*) FILTER (WHERE cloud_state = 'denied') AS denied,
           count(*) FILTER (WHERE bulk_action_id IS NULL) AS single,
           count(bulk_action_id) AS bulk
    FROM a WHERE cloud_state IN ('approved', 'denied')
    GROUP BY cloud_resolved_by
), c AS (
    SELECT command_type, count(*) AS issued,
           count(*) FILTER (WHERE state = 'acknowledged') AS acknowledged,
           count(*) FILTER (WHERE state = 'acknowledged' AND outcome = ANY(%(applied)s::text[])) AS applied,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM acked_at - issued_at)::float8)
               FILTER (WHERE state = 'acknowledged' AND acked_at IS NOT NULL) AS median_ack_s
    FROM emergency_commands
    WHERE org_id = %(org)s AND issued_at >= %(start)s AND issued_at < %(end)s
      AND (%(stacks)s::text[] IS NULL OR stack_id = ANY(%(stacks)s::text[]))
    GROUP BY command_type
)
SELECT count(*) FILTER (WHERE state = 'approved'),
       count(*) FILTER (WHERE state = 'denied'),
       count(*) FILTER (WHERE state = 'expired'),
       count(*) FILTER (WHERE state = 'withdrawn'),
       count(*) FILTER (WHERE state = 'pending'),
       percentile_cont(ARRAY[0.5, 0.95]::float8[]) WITHIN GROUP (
           ORDER BY GREATEST(0, extract(epoch FROM resolved_at - created_at))::float8)
           FILTER (WHERE state <> 'pending' AND resolved_at IS NOT NULL),
       count(DISTINCT bulk_action_id),
       count(bulk_action_id),
       (SELECT COALESCE(jsonb_agg(jsonb_build_array(id, label, approved, denied, single, bulk)
                                  ORDER BY approved + denied DESC, label, id), '[]'::jsonb) FROM who),
       (SELECT COALESCE(jsonb_agg(jsonb_build_array(command_type, issued, acknowledged, applied, median_ack_s)),
                        '[]'::jsonb) FROM c)
FROM a
"""


def check_range(start: datetime, end: datetime) -> None:
    """``ValueError`` naming the problem unless [start, end) is a non-empty range of aware
    datetimes."""
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be a datetime with a time zone (got {value!r})")
    if start >= end:
        raise ValueError(f"the range is empty: start ({start.isoformat()}) must be before end ({end.isoformat()})")


def _commands(rows: list[Any]) -> list[CommandCount]:
    found = {r[0]: CommandCount(r[0], int(r[1]), int(r[2]), int(r[3]), None if r[4] is None else float(r[4]))
             for r in rows}
    return [found.get(kind.value, CommandCount(kind.value, 0, 0, 0, None)) for kind in CommandType]


async def summarize(db: Database, org_id: str, *, stacks: Collection[str] | None, start: datetime,
                    end: datetime) -> ApprovalSummary:
    """The summary of ``org_id``'s approvals created and commands issued in [start, end), on
    ``stacks`` (None: every stack; empty: none)."""
    check_range(start, end)
    scope = None if stacks is None else list(stacks)
    async with tenant_transaction(db, org_id) as conn:
        cur = await conn.execute(_SQL, {"org": org_id, "start": start, "end": end, "stacks": scope,
                                        "applied": list(APPLIED)})
        row = await cur.fetchone()
    assert row is not None  # an aggregate without GROUP BY always answers one row
    pct = row[5] or (None, None)
    approvers = [ApproverCount(str(r[0]), str(r[1] or ""), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
                 for r in row[8]]
    return ApprovalSummary(
        start=start, end=end, approved=int(row[0]), denied=int(row[1]), expired=int(row[2]),
        withdrawn=int(row[3]), pending=int(row[4]),
        median_pending_s=None if pct[0] is None else float(pct[0]),
        p95_pending_s=None if pct[1] is None else float(pct[1]),
        approvers=approvers, bulk_actions=int(row[6]), bulk_decided=int(row[7]), commands=_commands(row[9]))

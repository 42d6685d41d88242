"""Helpers for approvals tests: ApprovalEvents on ``sync.items.v1`` exactly as ingest
appends them (protobuf value, header ``kind`` = ``approval_event``, origin headers)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from faramesh_cloud_api.sync.v1 import approvals_pb2

from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
from faramesh_cloud.log.port import Log, LogRecord, Message
from faramesh_cloud.sql.database import Database


def pending_event(token: str, agent: str = "payments-bot", *, tool: str = "stripe/refund",
                  session: str = "sess-1", created: datetime | None = None,
                  deadline: datetime | None = None, args: bytes = b'{"amount":120}',
                  state: int = approvals_pb2.APPROVAL_STATE_PENDING, source: int = 0,
                  approver: str = "", reason: str = "") -> approvals_pb2.ApprovalEvent:
    created = created or datetime.now(UTC)
    approval = approvals_pb2.PendingApproval(
        defer_token=token, agent_id=agent, tool_id=tool, session_id=session, args_snapshot_json=args,
        matched_rule_id="refunds-over-100", reason_code="RULE_DEFER", reason="refund above 100 needs a human",
        priority=approvals_pb2.APPROVAL_PRIORITY_HIGH, dpr_record_id=f"rec-{token}", approvals_required=1)
    approval.created_at.FromDatetime(created)
    approval.deadline.FromDatetime(deadline or created + timedelta(minutes=5))
    event = approvals_pb2.ApprovalEvent(state=state, approval=approval)
    if state != approvals_pb2.APPROVAL_STATE_PENDING:
        event.resolution.approver_id = approver
        event.resolution.reason = reason
        event.resolution.source = source
        event.resolution.resolved_at.FromDatetime(datetime.now(UTC))
    return event


async def push_events(log: Log, org_id: str, stack_id: str, events: list[approvals_pb2.ApprovalEvent]) -> None:
    records = []
    for index, event in enumerate(events):
        headers = Origin(org_id, stack_id, "sync", index, "buf-test", time.time_ns()).headers()
        headers[H_KIND] = b"approval_event"
        records.append(LogRecord(stack_key(org_id, stack_id), event.SerializeToString(), headers))
    await log.append(SYNC_ITEMS, records)


async def seed_ids(database: Database, org_id: str, stack_id: str, agent_id: str) -> dict[str, str]:
    """One pending approval (through the real processor and sink) and one kill command of
    ``org_id``, as path values for route-table walks: approval_id, command_id, kind."""
    from faramesh_cloud.approvals.emergency import EmergencyCommands
    from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
    from faramesh_cloud.approvals.projection import ApprovalSink
    from faramesh_cloud.approvals.queries import ApprovalQueries
    from faramesh_cloud.platform_audit.events import Actor
    from faramesh_cloud.platform_audit.store import PlatformAuditLog

    headers = Origin(org_id, stack_id, "sync", 1, "buf-test", time.time_ns()).headers()
    headers[H_KIND] = b"approval_event"
    message = Message(SYNC_ITEMS, 0, 0, stack_key(org_id, stack_id),
                      pending_event("5eed0001", agent_id).SerializeToString(), headers, int(time.time() * 1000))
    fact = ApprovalProcessor().process(message)
    assert isinstance(fact, ApprovalFact)
    await ApprovalSink(database).write([fact])
    [approval] = await ApprovalQueries(database).pending(org_id)
    command = await EmergencyCommands(database, PlatformAuditLog(database)).issue(
        org_id, stack_id, agent_id, Actor.system("test"), "seeded", "kill", permitted=True)
    return {"approval_id": approval.approval_id, "command_id": command.command_id, "kind": "kill"}


async def drain(runner: Any, log: Log) -> None:
    """Run one consumer (a ``ConsumerRunner``) until it has read its topic to the end, with
    nothing rejected."""
    import asyncio

    from tests.simulator_support import eventually

    total = sum((await log.end_offsets(runner.topic)).values())
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await eventually(lambda: runner.stats.messages >= total or task.done(), f"{runner.topic} replayed", 60)
    finally:
        stop.set()
        await task
    assert runner.stats.messages == total and runner.stats.rejected == 0


async def seed_pending_aged(database: Database, org_id: str, stack_id: str, ages_min: list[int], prefix: str,
                            first: int = 0) -> None:
    """Pending approvals of ``stack_id`` created ``ages_min`` minutes ago (tokens ``prefix`` +
    4 hex), through the real processor and sink; ``first``: the first log offset used (offsets
    must differ between calls)."""
    from faramesh_cloud.approvals.processor import ApprovalFact, ApprovalProcessor
    from faramesh_cloud.approvals.projection import ApprovalSink

    now = datetime.now(UTC)
    facts = []
    for n, minutes in enumerate(ages_min):
        headers = Origin(org_id, stack_id, "sync", n, "buf-test", time.time_ns()).headers()
        headers[H_KIND] = b"approval_event"
        event = pending_event(f"{prefix}{n:04x}", tool=f"tool-{n}", created=now - timedelta(minutes=minutes),
                              deadline=now + timedelta(days=1))
        fact = ApprovalProcessor().process(Message(SYNC_ITEMS, 0, first + n, stack_key(org_id, stack_id),
                                                   event.SerializeToString(), headers, int(time.time() * 1000)))
        assert isinstance(fact, ApprovalFact)
        facts.append(fact)
    await ApprovalSink(database).write(facts)

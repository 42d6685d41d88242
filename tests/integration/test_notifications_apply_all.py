"""The batched way the notifications service applies its events (``apply.apply_all``: a run of
queued notifications, or of delivery ends, in one statement) gives the same answers, the same
state and the same outbox events as applying them one by one, duplicates, a destination that
is gone and a forged notification id included; and the consumer of the service's own events
wakes the sender only when a batch changed something."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg import AsyncConnection

from faramesh_cloud.events.topics import DEAD_LETTERS, H_EVENT_ID, NOTIFICATION_EVENTS
from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.apply import Recorder, apply, apply_all, queue_change
from faramesh_cloud.notifications.changes import (
    ApprovalRouted,
    Change,
    NotificationDelivered,
    NotificationFailed,
    derived_id,
)
from faramesh_cloud.notifications.domain import Event, Notice
from faramesh_cloud.notifications.events import Seen
from faramesh_cloud.notifications.projection import ChangeSink
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from tests.fixtures.identity import People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
Conn = AsyncConnection[Any]

ACTOR = Actor.system("test")
AT = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
STACK = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"


def notice(org_id: str, event: Event, step: int) -> Notice:
    return Notice(event=event, org_id=org_id, org_slug="acme", stack_id=STACK, stack_name="payments-prod",
                  defer_token="tok-1", agent_id="bot", tool_id="stripe/refund", reason="why", priority="high",
                  matched_rule_id="r", session_id="sess", created_at=AT.isoformat(),
                  deadline=(AT + timedelta(hours=1)).isoformat(), link="", step=step)


def ended(kind: type[NotificationDelivered] | type[NotificationFailed], queued: Any, minutes: int) -> Change:
    at = AT + timedelta(minutes=minutes)
    nid = queued.notification_id
    if kind is NotificationDelivered:
        return NotificationDelivered(derived_id("delivered", nid), at, queued.org_id, nid, queued.destination_id,
                                     STACK, 1, 200)
    return NotificationFailed(derived_id("failed", nid), at, queued.org_id, nid, queued.destination_id, STACK, 2,
                              500, "server error")


async def state(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table, order in (("notification_deliveries", "notification_id"), ("notification_requests", "defer_token")):
        cur = await conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
        found[table] = [tuple(r) for r in await cur.fetchall()]
    return found


async def outboxed_since(conn: Conn, after: int) -> list[str]:
    cur = await conn.execute("SELECT headers FROM notifications_outbox WHERE id > %s ORDER BY id", (after,))
    return [dict(decode_headers(r[0]))[H_EVENT_ID].decode() for r in await cur.fetchall()]


async def service_with_destinations(database: Database, postgres_log: PostgresLog,
                                    org_id: str) -> tuple[Notifications, str, str]:
    service = Notifications(database, postgres_log, NotificationsConfig(key=secrets.token_bytes(32),
                                                                        allow_private=True))
    await service.prepare()
    hook, _ = await service.api.create_destination(org_id, "hook", "webhook", {"url": "http://127.0.0.1:9/a"},
                                                   ACTOR)
    gone, _ = await service.api.create_destination(org_id, "gone", "webhook", {"url": "http://127.0.0.1:9/b"},
                                                   ACTOR)
    await service.api.delete_destination(org_id, gone.destination_id, ACTOR)
    return service, hook.destination_id, gone.destination_id


async def test_apply_all_answers_and_changes_exactly_as_one_by_one(
        database: Database, postgres_log: PostgresLog, people: People) -> None:
    org_id = (await people.org("acme")).org.org_id
    _, hook, gone = await service_with_destinations(database, postgres_log, org_id)
    routed = ApprovalRouted(str(uuid.uuid4()), AT, org_id, STACK, "tok-1", "bot", "stripe/refund", "sess", "why",
                            "high", "r", AT, AT + timedelta(hours=1), "")
    first = queue_change(hook, notice(org_id, Event.REQUESTED, 0), AT)
    escalated = queue_change(hook, notice(org_id, Event.ESCALATED, 1), AT + timedelta(minutes=5))
    later = queue_change(hook, notice(org_id, Event.ESCALATED, 2), AT + timedelta(minutes=10))
    forged = replace(later, event_id=str(uuid.uuid4()), destination_id=gone)  # same id, another destination
    resolved = queue_change(hook, notice(org_id, Event.RESOLVED, 0), AT + timedelta(minutes=20))
    changes: list[Change] = [
        routed,
        first, queue_change(gone, notice(org_id, Event.REQUESTED, 0), AT), first, escalated,
        ended(NotificationDelivered, first, 1), ended(NotificationFailed, first, 2),
        ended(NotificationDelivered, queue_change(gone, notice(org_id, Event.ESCALATED, 1), AT), 3),
        later, forged,
        resolved, ended(NotificationFailed, escalated, 6), ended(NotificationDelivered, escalated, 7),
    ]
    expected = [True, True, False, False, True, True, False, False, True, False, True, True, False]

    async with database.transaction() as conn:
        cur = await conn.execute("SELECT coalesce(max(id), 0) FROM notifications_outbox")
        [(before,)] = await cur.fetchall()
        async with conn.transaction(force_rollback=True):
            one_by_one = [await apply(conn, c) for c in changes]
            state_one_by_one = await state(conn)
        async with conn.transaction(force_rollback=True):
            at_once = await apply_all(conn, changes)
            state_at_once = await state(conn)
        async with conn.transaction(force_rollback=True):
            recorder = Recorder(conn)
            recorded = await recorder.record_all(changes)
            await recorder.flush()
            outboxed = await outboxed_since(conn, before)

    assert one_by_one == expected
    assert at_once == expected and recorded == expected
    assert state_at_once == state_one_by_one
    deliveries = {r[0]: r for r in state_at_once["notification_deliveries"]}
    assert len(deliveries) == 4  # first, escalated, later and resolved; nothing for the destination gone
    assert len(state_at_once["notification_requests"]) == 1
    async with database.transaction() as conn, conn.transaction(force_rollback=True):
        await apply_all(conn, changes)
        cur = await conn.execute("SELECT steps_sent FROM notification_requests")
        assert await cur.fetchall() == [(3,)]  # as far as the furthest step queued
    assert outboxed == [c.event_id for c, applied in zip(changes, expected, strict=True) if applied]


async def test_own_events_that_change_nothing_do_not_wake_the_sender(
        database: Database, postgres_log: PostgresLog, people: People) -> None:
    org_id = (await people.org("acme")).org.org_id
    _, hook, _ = await service_with_destinations(database, postgres_log, org_id)
    first = queue_change(hook, notice(org_id, Event.REQUESTED, 0), AT)
    async with database.transaction() as conn:
        assert await apply(conn, first)  # what the service did itself, before its event comes back
    wakes: list[int] = []
    sink = ChangeSink(database, postgres_log, DEAD_LETTERS, lambda: wakes.append(1))

    await sink.write([Seen(NOTIFICATION_EVENTS, 0, 0, first)])  # applied already: nothing to send
    assert wakes == []

    second = queue_change(hook, notice(org_id, Event.ESCALATED, 1), AT)  # new here (as after a rebuild)
    await sink.write([Seen(NOTIFICATION_EVENTS, 0, 1, first), Seen(NOTIFICATION_EVENTS, 0, 2, second)])
    assert wakes == [1]
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT count(*) FROM notification_deliveries WHERE state = 'pending'")
        assert await cur.fetchone() == (2,)

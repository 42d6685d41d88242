"""Notifications rebuilt from the log: destinations and routing rules are configured through the
service's API, approvals arrive on ``sync.items.v1`` and are notified, escalated, resolved and
tested against local servers speaking Slack, PagerDuty, SMTP and Standard Webhooks. Then every
topic is replayed from offset 0 into an EMPTY database (new consumer groups): the service has
the same configuration (sealed secrets that still sign), the same projection of approval
requests and the same delivery history a person reads, and the fake servers receive nothing
more; escalation carries on from where it was."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2
from psycopg import sql

from faramesh_cloud.events.topics import DEAD_LETTERS, NOTIFICATION_EVENTS, SYNC_ITEMS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.api import CatchingUp
from faramesh_cloud.notifications.apply import apply
from faramesh_cloud.notifications.events import ChangeProcessor
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.embedded import EmbeddedPostgres
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import pending_event, push_events
from tests.fixtures.identity import People
from tests.fixtures.postgres import fresh_database
from tests.notifications_support import FakeClock, HttpReceiver, SmtpSink, http_receiver, smtp_sink
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
ACTOR = Actor.system("test")
LINK = "https://cloud.example.test"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        fake.answers["/pd/v2/enqueue"] = (202, b'{"status":"success","message":"Event processed"}')
        fake.answers["/slack/api/chat.postMessage"] = (200, b'{"ok":false,"error":"channel_not_found"}')
        yield fake


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as fake:
        yield fake


@pytest.fixture
async def empty_database(embedded_postgres: EmbeddedPostgres, pg_template: str) -> AsyncIterator[Database]:
    """A second, empty database (every component's tables, no rows) on the same server."""
    with fresh_database(embedded_postgres, pg_template, "replay") as url:
        async with Database(url, max_size=4) as db:
            yield db


def config(receiver: HttpReceiver, clock: FakeClock, key: bytes, group: str) -> NotificationsConfig:
    return NotificationsConfig(
        key=key, group=group, allow_private=True, link_base=LINK, clock=clock,
        endpoints=Endpoints(slack_api=receiver.url + "/slack", pagerduty=receiver.url + "/pd"),
        send_interval_s=0.05, escalation_interval_s=3600,  # the test runs escalation
        outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=3))


async def rows(db: Database, query: str, *params: Any) -> list[tuple[Any, ...]]:
    async with db.transaction() as conn:
        cur = await conn.execute(query, params)
        return [tuple(r) for r in await cur.fetchall()]


async def settled(db: Database) -> bool:
    """Every notification ended and every event relayed."""
    [(pending,)] = await rows(db, "SELECT count(*) FROM notification_deliveries WHERE state = 'pending'")
    [(unrelayed,)] = await rows(db, "SELECT count(*) FROM notifications_outbox")
    return pending == 0 and unrelayed == 0


async def consumed(db: Database, log: PostgresLog, topic: str) -> bool:
    ends = await log.end_offsets(topic)
    positions = dict(await rows(db, "SELECT partition, next_offset FROM notification_positions WHERE topic = %s",
                                topic))
    return all(positions.get(p, 0) >= end for p, end in ends.items())


async def what_people_see(service: Notifications, db: Database, org_id: str) -> dict[str, Any]:
    api = service.api
    return {
        "destinations": await api.destinations(org_id),
        "rules": await api.rules(org_id),
        "deliveries": await api.deliveries(org_id, limit=1000),
        "requests": await rows(db, "SELECT * FROM notification_requests ORDER BY defer_token"),
    }


async def copy_registry(source: Database, target: Database) -> None:
    """Organisations and stacks are not this service's events (identity and the stack
    registry keep them): restore them as they are, before the replay."""
    for table in ("orgs", "stacks"):
        async with source.transaction() as conn:
            cur = await conn.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            names = [c.name for c in cur.description or ()]
            found = await cur.fetchall()
        async with target.transaction() as conn, conn.cursor() as cur:
            await cur.executemany(sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.SQL(", ").join(sql.Placeholder() * len(names))), found)


def signed_by(request: Any, secret: str) -> bool:
    h = request.headers
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + request.body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode() in h["webhook-signature"].split(" ")


async def test_a_replay_into_an_empty_database_rebuilds_routing_and_history_and_sends_nothing_again(
        database: Database, postgres_log: PostgresLog, empty_database: Database, people: People,
        stacks: StackStore, receiver: HttpReceiver, sink: SmtpSink) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    org_id, stack_id = owner.org.org_id, stack.stack_id
    clock, key = FakeClock(), secrets.token_bytes(32)
    first = Notifications(database, postgres_log, config(receiver, clock, key, "notifications"))
    await first.start()
    try:
        api = first.api
        slack, _ = await api.create_destination(org_id, "slack", "slack_webhook",
                                                {"url": receiver.url + "/hooks/T/B/X"}, ACTOR)
        bot, _ = await api.create_destination(org_id, "bot", "slack_api", {"token": "xoxb-t", "channel": "C1"},
                                              ACTOR)
        pager, _ = await api.create_destination(org_id, "pager", "pagerduty", {"routing_key": ROUTING_KEY}, ACTOR)
        mail, _ = await api.create_destination(org_id, "mail", "email", {
            "smtp_host": "127.0.0.1", "smtp_port": str(sink.port), "starttls": "false",
            "sender": "cloud@example.test", "to": "oncall@example.test"}, ACTOR)
        hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/hook"}, ACTOR)
        _, rotated = await api.rotate_secret(org_id, hook.destination_id, 3600, ACTOR)
        spare, _ = await api.create_destination(org_id, "spare", "webhook", {"url": receiver.url + "/spare"}, ACTOR)
        await api.test_destination(org_id, spare.destination_id, ACTOR)
        await eventually(lambda: len(receiver.on("/spare")) == 1, "the test send", within_s=30)
        await eventually(lambda: settled(database), "the test send recorded", within_s=30)
        await api.delete_destination(org_id, spare.destination_id, ACTOR)  # its history goes with it
        await api.update_destination(org_id, bot.destination_id, "", {"channel": "C9"}, ACTOR)  # an edit
        await api.put_rule(org_id, "", "", [
            {"after_minutes": 0, "destinations": [slack.destination_id, bot.destination_id, hook.destination_id]},
            {"after_minutes": 10, "destinations": [pager.destination_id]}], ACTOR)
        await api.put_rule(org_id, stack_id, "refund-bot", [{"after_minutes": 0, "destinations": [mail.destination_id]}],
                           ACTOR)
        await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [pager.destination_id]}], ACTOR,
                           subject="chain_integrity")
        gone = await api.put_rule(org_id, stack_id, "", [{"after_minutes": 0, "destinations": [mail.destination_id]}],
                                  ACTOR)
        await api.delete_rule(org_id, gone.rule_id, ACTOR)
        await api.put_rule(org_id, stack_id, "refund-bot", [  # replaced: same rule, new steps
            {"after_minutes": 0, "destinations": [mail.destination_id]},
            {"after_minutes": 30, "destinations": [pager.destination_id]}], ACTOR)

        deadline = clock() + timedelta(hours=2)
        await push_events(postgres_log, org_id, stack_id, [pending_event("tok-1", deadline=deadline),
                                                            pending_event("tok-2", "refund-bot", deadline=deadline)])
        await eventually(lambda: len(receiver.on("/hook")) == 1 and len(sink.mails) == 1, "step 0", within_s=30)
        clock.advance(minutes=10)
        assert await first.escalation.run_once() == 1  # tok-1's PagerDuty step
        first.wake()
        await eventually(lambda: len(receiver.on("/pd/v2/enqueue")) == 1, "the escalation", within_s=30)
        await push_events(postgres_log, org_id, stack_id, [
            pending_event("tok-1", state=approvals_pb2.APPROVAL_STATE_APPROVED,
                          source=approvals_pb2.RESOLUTION_SOURCE_CLOUD, approver="alice@example.test"),
            pending_event("tok-3", deadline=deadline)])
        await eventually(lambda: len(receiver.on("/pd/v2/enqueue")) == 2 and len(receiver.on("/hook")) == 3,
                         "the resolve, the webhook's resolved event and tok-3", within_s=30)
        await eventually(lambda: settled(database), "every notification ended and every event relayed", within_s=30)
        await eventually(lambda: consumed(database, postgres_log, SYNC_ITEMS), "sync items consumed", within_s=30)
        before = await what_people_see(first, database, org_id)
    finally:
        await first.stop()

    states = sorted((d.destination_name, d.event, d.state, d.attempts) for d in before["deliveries"])
    assert states == [
        ("bot", "approval.requested", "failed", 1), ("bot", "approval.requested", "failed", 1),
        ("hook", "approval.requested", "delivered", 1), ("hook", "approval.requested", "delivered", 1),
        ("hook", "approval.resolved", "delivered", 1),
        ("mail", "approval.requested", "delivered", 1),
        ("pager", "approval.escalated", "delivered", 1), ("pager", "approval.resolved", "delivered", 1),
        ("slack", "approval.requested", "delivered", 1), ("slack", "approval.requested", "delivered", 1)]
    assert [r[2] for r in before["requests"]] == ["tok-1", "tok-2", "tok-3"]
    sent = (len(receiver.requests), len(sink.mails))
    events_end = await postgres_log.end_offsets(NOTIFICATION_EVENTS)

    # Replay every topic from offset 0 into the empty database, with new consumer groups.
    await copy_registry(database, empty_database)
    second = Notifications(empty_database, postgres_log, config(receiver, clock, key, "notifications-replay"))
    await second.start()
    try:
        await eventually(second.own_events.done.is_set, "the rebuild of the service's own events", within_s=60)
        await eventually(lambda: consumed(empty_database, postgres_log, SYNC_ITEMS), "sync items replayed",
                         within_s=60)
        await eventually(second.catch_up.done.is_set, "the catch-up (escalation and sending wait for it)",
                         within_s=60)
        assert await settled(empty_database)  # nothing left to send ...
        assert await second.escalation.run_once() == 0  # ... nor to escalate
        assert await second.outbox.deliver_due() == 0
        assert (len(receiver.requests), len(sink.mails)) == sent  # the fake servers got nothing more
        assert await postgres_log.end_offsets(NOTIFICATION_EVENTS) == events_end  # and the log nothing new
        assert await what_people_see(second, empty_database, org_id) == before
        assert (await second.api.destination(org_id, bot.destination_id)).config == {"channel": "C9"}  # the edit

        # It carries on from there: tok-3 escalates once its 10 minutes are up, as it would have.
        clock.advance(minutes=10)
        assert await second.escalation.run_once() == 1
        second.wake()
        await eventually(lambda: len(receiver.on("/pd/v2/enqueue")) == 3, "tok-3's escalation", within_s=30)
        assert receiver.on("/pd/v2/enqueue")[-1].json()["payload"]["custom_details"]["step"] == 1
        # and the sealed secrets came through the log: the rotated signing secret still signs.
        await second.api.test_destination(org_id, hook.destination_id, ACTOR)
        await eventually(lambda: len(receiver.on("/hook")) == 4, "a test send after the rebuild", within_s=30)
        assert signed_by(receiver.on("/hook")[-1], rotated)
        assert len(receiver.requests) == sent[0] + 2 and len(sink.mails) == sent[1]
    finally:
        await second.stop()


async def test_commands_wait_for_a_rebuild_and_nothing_is_sent_before_it(
        database: Database, postgres_log: PostgresLog, empty_database: Database, people: People,
        stacks: StackStore, receiver: HttpReceiver) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    org_id, stack_id = owner.org.org_id, stack.stack_id
    clock, key = FakeClock(), secrets.token_bytes(32)
    first = Notifications(database, postgres_log, config(receiver, clock, key, "notifications"))
    await first.start()
    try:
        hook, _ = await first.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/h"}, ACTOR)
        await first.api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]}], ACTOR)
        await push_events(postgres_log, org_id, stack_id, [pending_event("tok-1", deadline=clock() + timedelta(hours=1))])
        await eventually(lambda: len(receiver.on("/h")) == 1, "the notification", within_s=30)
        await eventually(lambda: settled(database), "it recorded and relayed", within_s=30)
    finally:
        await first.stop()

    await copy_registry(database, empty_database)
    second = Notifications(empty_database, postgres_log, config(receiver, clock, key, "notifications-replay"))
    await second.prepare()
    holding = empty_database.transaction()  # the rebuild cannot apply anything while this is open
    held = await holding.__aenter__()
    try:
        try:
            await held.execute("LOCK TABLE notification_positions IN EXCLUSIVE MODE")
            await second.start()

            async def refused() -> bool:
                try:
                    await second.api.delete_rule(org_id, str(uuid.uuid4()), ACTOR)
                except CatchingUp as exc:
                    assert "rebuilding" in str(exc)
                    return True
                except LookupError:
                    return False  # not marked yet
                raise AssertionError("deleted a rule that does not exist")
            await eventually(refused, "commands refused while rebuilding", within_s=30)
            with pytest.raises(CatchingUp):
                await second.api.create_destination(org_id, "other", "webhook", {"url": receiver.url + "/o"}, ACTOR)
            assert not second.own_events.done.is_set() and not second.catch_up.done.is_set()
            assert len(receiver.requests) == 1
        finally:
            await holding.__aexit__(None, None, None)
        await eventually(second.own_events.done.is_set, "the rebuild", within_s=60)
        await second.api.create_destination(org_id, "other", "webhook", {"url": receiver.url + "/o"}, ACTOR)
        assert [d.name for d in await second.api.destinations(org_id)] == ["hook", "other"]
        await eventually(lambda: consumed(empty_database, postgres_log, SYNC_ITEMS), "sync items replayed",
                         within_s=60)
        assert await settled(empty_database) and len(receiver.requests) == 1
    finally:
        await second.stop()


async def test_a_rebuild_escalates_nothing_the_daemon_resolved_before_the_step_was_due(
        database: Database, postgres_log: PostgresLog, empty_database: Database, people: People,
        stacks: StackStore, receiver: HttpReceiver) -> None:
    """A resolution is the daemon's snapshot on ``sync.items.v1``, not this service's event: in a
    rebuild, a request resolved in the history looks open until that snapshot is replayed. The
    sweep must not escalate it meanwhile (a page never sent before, then told of the resolution:
    two POSTs). Here ``sync.items.v1`` is held behind the service's own events by locking its
    position rows, as a long topic would hold it."""
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    org_id, stack_id = owner.org.org_id, stack.stack_id
    clock, key = FakeClock(), secrets.token_bytes(32)
    first = Notifications(database, postgres_log, config(receiver, clock, key, "notifications"))
    await first.start()
    try:
        hook, _ = await first.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/h"}, ACTOR)
        pager, _ = await first.api.create_destination(org_id, "pager", "webhook", {"url": receiver.url + "/p"},
                                                      ACTOR)
        await first.api.put_rule(org_id, "", "", [
            {"after_minutes": 0, "destinations": [hook.destination_id]},
            {"after_minutes": 10, "destinations": [pager.destination_id]}], ACTOR)
        deadline = clock() + timedelta(hours=2)
        await push_events(postgres_log, org_id, stack_id, [pending_event("tok-1", deadline=deadline)])
        await eventually(lambda: len(receiver.on("/h")) == 1, "step 0", within_s=30)
        clock.advance(minutes=1)  # the daemon reports it approved, long before the 10-minute step
        await push_events(postgres_log, org_id, stack_id, [pending_event(
            "tok-1", deadline=deadline, state=approvals_pb2.APPROVAL_STATE_APPROVED,
            source=approvals_pb2.RESOLUTION_SOURCE_CLOUD, approver="alice@example.test")])
        await eventually(lambda: len(receiver.on("/h")) == 2, "the resolved notice", within_s=30)
        await eventually(lambda: settled(database), "settled", within_s=30)
        await eventually(lambda: consumed(database, postgres_log, SYNC_ITEMS), "sync items consumed", within_s=30)
        clock.advance(minutes=15)  # the step's time has come; the request was resolved: nothing due
        assert await first.escalation.run_once() == 0
    finally:
        await first.stop()
    assert receiver.on("/p") == []

    await copy_registry(database, empty_database)
    second = Notifications(empty_database, postgres_log, config(receiver, clock, key, "notifications-replay"))
    await second.prepare()
    parts = sorted(await postgres_log.end_offsets(SYNC_ITEMS))
    async with empty_database.transaction() as conn:
        await conn.execute("INSERT INTO notification_positions (topic, partition, next_offset) "
                           "SELECT %s, p, 0 FROM unnest(%s::int[]) AS p", (SYNC_ITEMS, parts))
    holding = empty_database.transaction()  # sync.items.v1 cannot be applied while this is open
    held = await holding.__aenter__()
    try:
        try:
            await held.execute("SELECT 1 FROM notification_positions WHERE topic = %s FOR UPDATE", (SYNC_ITEMS,))
            await second.start()
            await eventually(lambda: consumed(empty_database, postgres_log, NOTIFICATION_EVENTS),
                             "the service's own events rebuilt", within_s=60)
            # what the service's sweep does on a tick now: tok-1 looks open and past its step
            escalated = await second.escalation.run_once()
        finally:
            await holding.__aexit__(None, None, None)
        await eventually(second.catch_up.done.is_set, "sync.items.v1 replayed", within_s=60)
        assert escalated == 0, "escalated a request the daemon had resolved before the step was due"
        assert await second.escalation.run_once() == 0
        second.wake()
        await eventually(lambda: settled(empty_database), "every notification ended", within_s=30)
        assert receiver.on("/p") == [] and len(receiver.on("/h")) == 2
    finally:
        await second.stop()


async def test_a_resolution_first_read_in_a_rebuild_is_told_once_to_who_was_sent_the_request(
        database: Database, postgres_log: PostgresLog, empty_database: Database, people: People,
        stacks: StackStore, receiver: HttpReceiver) -> None:
    """The notices the ``sync.items.v1`` replay queues wait for the catch-up, and are then sent:
    one queued before the rebuild is there already (sent once, never again); one that was not (the
    daemon resolved while the service was down) goes once to whoever the log says was sent the
    request, and the request is not sent again."""
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    org_id, stack_id = owner.org.org_id, stack.stack_id
    clock, key = FakeClock(), secrets.token_bytes(32)
    first = Notifications(database, postgres_log, config(receiver, clock, key, "notifications"))
    await first.start()
    try:
        hook, _ = await first.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/h"}, ACTOR)
        await first.api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]}], ACTOR)
        deadline = clock() + timedelta(hours=2)
        await push_events(postgres_log, org_id, stack_id, [pending_event("tok-1", deadline=deadline)])
        await eventually(lambda: len(receiver.on("/h")) == 1, "the request", within_s=30)
        await eventually(lambda: settled(database), "recorded and relayed", within_s=30)
    finally:
        await first.stop()
    await push_events(postgres_log, org_id, stack_id, [pending_event(  # while the service is down
        "tok-1", deadline=deadline, state=approvals_pb2.APPROVAL_STATE_APPROVED,
        source=approvals_pb2.RESOLUTION_SOURCE_CLOUD, approver="alice@example.test")])

    await copy_registry(database, empty_database)
    second = Notifications(empty_database, postgres_log, config(receiver, clock, key, "notifications-replay"))
    await second.start()
    try:
        await eventually(second.catch_up.done.is_set, "the rebuild", within_s=60)
        await eventually(lambda: len(receiver.on("/h")) == 2, "the resolved notice", within_s=30)
        await eventually(lambda: settled(empty_database), "every notification ended", within_s=30)
    finally:
        await second.stop()
    assert [r.json()["type"] for r in receiver.on("/h")] == ["approval.requested", "approval.resolved"]
    deliveries = await second.api.deliveries(org_id, limit=10)
    assert sorted((d.event, d.state) for d in deliveries) == [("approval.requested", "delivered"),
                                                               ("approval.resolved", "delivered")]


async def test_re_applying_the_services_own_events_changes_nothing(
        database: Database, postgres_log: PostgresLog, people: People, stacks: StackStore,
        receiver: HttpReceiver) -> None:
    owner = await people.org("acme")
    org_id = owner.org.org_id
    clock = FakeClock()
    service = Notifications(database, postgres_log, config(receiver, clock, secrets.token_bytes(32), "notifications"))
    await service.prepare()
    api = service.api  # changes made before the service runs (as the gateway's process does)
    hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/h"}, ACTOR)
    spare, _ = await api.create_destination(org_id, "spare", "webhook", {"url": receiver.url + "/s"}, ACTOR)
    await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [spare.destination_id]}], ACTOR)
    await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]}], ACTOR)
    await api.rotate_secret(org_id, hook.destination_id, 0, ACTOR)
    await api.delete_destination(org_id, spare.destination_id, ACTOR)
    before = await what_people_see(service, database, org_id)
    [(sealed_before,)] = await rows(database, "SELECT secret FROM notification_destinations")
    await service.start()  # the relay puts them on the log, the service's consumer reads them back
    try:
        await eventually(service.catch_up.done.is_set, "caught up", within_s=30)
        await eventually(lambda: consumed(database, postgres_log, NOTIFICATION_EVENTS), "own events read back",
                         within_s=30)
    finally:
        await service.stop()
    assert await what_people_see(service, database, org_id) == before

    reader = await postgres_log.consumer(NOTIFICATION_EVENTS, "test-reader")
    changes = []
    while batch := await reader.poll(500, 0.2):
        changes += [ChangeProcessor().process(m).change for m in batch]
    await reader.close()
    assert [type(c).__name__ for c in changes] == [
        "DestinationCreated", "DestinationCreated", "RoutingRuleSet", "RoutingRuleSet",
        "DestinationSecretRotated", "DestinationDeleted"]
    async with database.transaction() as conn:  # once more, in log order, as a redelivery would
        assert [await apply(conn, c) for c in changes if c is not None] == [False] * 6
    assert await what_people_see(service, database, org_id) == before  # the deleted one stays deleted,
    assert await rows(database, "SELECT secret FROM notification_destinations") == [(sealed_before,)]  # no old secret


async def test_an_event_that_cannot_be_read_is_dead_lettered_and_the_catch_up_passes_it(
        database: Database, postgres_log: PostgresLog, people: People, receiver: HttpReceiver) -> None:
    owner = await people.org("acme")
    org_id = owner.org.org_id
    service = Notifications(database, postgres_log, config(receiver, FakeClock(), secrets.token_bytes(32),
                                                           "notifications"))
    await service.prepare()
    headers = {"org": org_id.encode(), "stack": b"", "event-id": str(uuid.uuid4()).encode()}
    await postgres_log.append(NOTIFICATION_EVENTS, [  # the unreadable one last: nothing after it moves the position
        LogRecord(f"{org_id}/-".encode(), b"\x0a\x03abc", {**headers, "kind": b"DestinationMuted"}),  # newer kind
        LogRecord(f"{org_id}/-".encode(), b"\xff\x00not protobuf", {**headers, "kind": b"RoutingRuleSet"})])
    await service.start()
    try:
        await eventually(service.catch_up.done.is_set, "caught up past both", within_s=30)
        await service.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/h"}, ACTOR)
        assert [d.name for d in await service.api.destinations(org_id)] == ["hook"]
    finally:
        await service.stop()
    reader = await postgres_log.consumer(DEAD_LETTERS, "test-reader")
    parked = await reader.poll(10, 1.0)
    await reader.close()
    assert len(parked) == 1 and parked[0].value == b"\xff\x00not protobuf"
    assert parked[0].headers["dlq-reason"].startswith(b"RoutingRuleSet cannot be read")
    assert parked[0].headers["dlq-topic"] == NOTIFICATION_EVENTS.encode()


async def test_a_destination_is_never_deleted_under_a_rule_that_names_it_however_the_changes_race(
        database: Database, postgres_log: PostgresLog, people: People, receiver: HttpReceiver) -> None:
    owner = await people.org("acme")
    org_id = owner.org.org_id
    service = Notifications(database, postgres_log, config(receiver, FakeClock(), secrets.token_bytes(32),
                                                           "notifications"))
    await service.prepare()
    api = service.api
    for n in range(12):
        made, _ = await api.create_destination(org_id, f"hook-{n}", "webhook", {"url": receiver.url + "/h"}, ACTOR)
        await asyncio.gather(
            api.delete_destination(org_id, made.destination_id, ACTOR),
            api.put_rule(org_id, "", f"agent-{n}", [{"after_minutes": 0, "destinations": [made.destination_id]}],
                         ACTOR),
            return_exceptions=True)
        existing = {d.destination_id for d in await api.destinations(org_id)}
        named = {d for r in await api.rules(org_id) for d in r.destination_ids()}
        assert named <= existing, f"round {n}: a rule names a deleted destination"

"""Notifications end to end on real PostgreSQL and the PostgreSQL log: approval events on
``sync.items.v1`` → routing → outbox → local servers that speak Slack (incoming webhook and
``chat.postMessage``), PagerDuty Events API v2, SMTP and a Standard Webhooks receiver. The
tests assert the exact payloads and headers, verify the webhook signature independently,
retry on 5xx, escalate after the threshold (injected clock), resolve the PagerDuty incident
when the approval is decided, and refuse loopback destinations unless allowed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from faramesh_cloud_api.sync.v1 import approvals_pb2
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.domain import InvalidRouting
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.observability import catalogue
from faramesh_cloud.observability.setup import activated, build
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import pending_event, push_events
from tests.fixtures.identity import People
from tests.notifications_support import FakeClock, HttpReceiver, SmtpSink, http_receiver, smtp_sink
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
ACTOR = Actor.system("test")
LINK = "https://cloud.example.test"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        yield fake


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def config(receiver: HttpReceiver, clock: FakeClock, *, allow_private: bool = True) -> NotificationsConfig:
    return NotificationsConfig(
        key=secrets.token_bytes(32), allow_private=allow_private, link_base=LINK,
        endpoints=Endpoints(slack_api=receiver.url + "/slack", pagerduty=receiver.url + "/pd"), clock=clock,
        send_interval_s=0.05, escalation_interval_s=3600,  # escalation is run by the tests
        outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=3))


@pytest.fixture
async def service(database: Database, postgres_log: PostgresLog, receiver: HttpReceiver,
                  clock: FakeClock) -> AsyncIterator[Notifications]:
    notifications = Notifications(database, postgres_log, config(receiver, clock))
    await notifications.start()
    yield notifications
    await notifications.stop()


@pytest.fixture
async def org(people: People, stacks: StackStore) -> dict[str, str]:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    return {"org_id": owner.org.org_id, "stack_id": stack.stack_id}


async def outbox_rows(database: Database) -> list[tuple[str, str, int, str]]:
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT d.name, o.state, o.attempts, o.event FROM notification_deliveries o "
                                 "JOIN notification_destinations d USING (destination_id) ORDER BY d.name, o.created_at")
        return [tuple(r) for r in await cur.fetchall()]  # type: ignore[misc]


async def test_a_pending_approval_reaches_every_channel_with_the_exact_payloads_and_resolves_pagerduty(
        service: Notifications, org: dict[str, str], receiver: HttpReceiver, sink: SmtpSink,
        postgres_log: PostgresLog, database: Database) -> None:
    org_id, stack_id = org["org_id"], org["stack_id"]
    api = service.api
    slack, _ = await api.create_destination(org_id, "slack-hook", "slack_webhook",
                                            {"url": receiver.url + "/hooks/T000/B000/XXX"}, ACTOR)
    slack_bot, _ = await api.create_destination(org_id, "slack-bot", "slack_api",
                                                {"token": "xoxb-test-token", "channel": "C0123456789"}, ACTOR)
    receiver.answers["/slack/api/chat.postMessage"] = (200, b'{"ok":true,"channel":"C0123456789","ts":"1.2"}')
    receiver.answers["/pd/v2/enqueue"] = (202, b'{"status":"success","message":"Event processed","dedup_key":"k"}')
    pagerduty, _ = await api.create_destination(org_id, "pagerduty", "pagerduty", {"routing_key": ROUTING_KEY}, ACTOR)
    mail, _ = await api.create_destination(org_id, "oncall-mail", "email", {
        "smtp_host": "127.0.0.1", "smtp_port": str(sink.port), "starttls": "false", "sender": "cloud@example.test",
        "to": "oncall@example.test, lead@example.test"}, ACTOR)
    hook, shown = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/receiver"}, ACTOR)
    secret = shown["signing_secret"]
    all_five = [d.destination_id for d in (slack, slack_bot, pagerduty, mail, hook)]
    await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": all_five}], ACTOR)

    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-1", deadline=service.config.clock()
                                                                     + timedelta(hours=1))])
    await eventually(lambda: len(receiver.requests) == 4 and len(sink.mails) == 1, "four HTTP posts and one mail",
                     within_s=30)
    title = "Approval needed: payments-bot wants stripe/refund on payments-prod"
    dedup = f"faramesh/{org_id}/{stack_id}/tok-1"

    [hooked] = receiver.on("/hooks/T000/B000/XXX")
    assert hooked.headers["content-type"] == "application/json; charset=utf-8"
    body = hooked.json()
    assert body["text"] == f"{title}. refund above 100 needs a human"
    assert body["blocks"][0]["text"]["text"] == title
    assert body["blocks"][-1]["elements"][0]["url"] == (
        f"{LINK}/o/acme/approvals?stack={stack_id}&agent=payments-bot")

    [posted] = receiver.on("/slack/api/chat.postMessage")
    assert posted.headers["authorization"] == "Bearer xoxb-test-token"
    assert posted.json()["channel"] == "C0123456789" and posted.json()["text"] == body["text"]

    [trigger] = receiver.on("/pd/v2/enqueue")
    event = trigger.json()
    assert {k: event[k] for k in ("routing_key", "event_action", "dedup_key")} == {
        "routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": dedup}
    assert event["payload"]["summary"] == f"{title}. refund above 100 needs a human"
    assert event["payload"]["severity"] == "error" and event["payload"]["source"] == "faramesh-cloud/acme/payments-prod"
    assert event["payload"]["custom_details"]["tool"] == "stripe/refund"

    [delivered] = receiver.on("/receiver")
    message_id, timestamp = delivered.headers["webhook-id"], delivered.headers["webhook-timestamp"]
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = hmac.new(key, f"{message_id}.{timestamp}.".encode() + delivered.body, hashlib.sha256).digest()
    assert delivered.headers["webhook-signature"] == "v1," + base64.b64encode(signed).decode()
    assert message_id.startswith("msg_")
    webhook_event = delivered.json()
    assert webhook_event["type"] == "approval.requested" and webhook_event["data"]["dedup_key"] == dedup

    [letter] = sink.mails
    assert letter.sender == "cloud@example.test"
    assert letter.recipients == ["oncall@example.test", "lead@example.test"]
    assert str(letter.message["Subject"]).strip() == f"[Faramesh] {title}"
    assert "Tool: stripe/refund" in letter.message.get_content()

    # Decided: PagerDuty resolves the incident, the webhook hears of it, Slack and email stay quiet.
    await push_events(postgres_log, org_id, stack_id, [pending_event(
        "tok-1", state=approvals_pb2.APPROVAL_STATE_APPROVED, source=approvals_pb2.RESOLUTION_SOURCE_CLOUD,
        approver="alice@example.test", reason="verified")])
    await eventually(lambda: len(receiver.requests) == 6, "the resolve and the webhook event", within_s=30)
    resolve = receiver.on("/pd/v2/enqueue")[1].json()
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": dedup}
    resolved = receiver.on("/receiver")[1].json()
    assert resolved["type"] == "approval.resolved"
    assert resolved["data"]["outcome"] == "approved" and resolved["data"]["resolved_by"] == "alice@example.test"
    assert len(receiver.on("/hooks/T000/B000/XXX")) == 1 and len(sink.mails) == 1

    async def all_delivered() -> bool:  # the receiver answers before the sender records the outcome
        rows = await outbox_rows(database)
        return len(rows) == 7 and all(state == "delivered" for _, state, _, _ in rows)
    await eventually(all_delivered, "seven notifications recorded as delivered", within_s=30)

    # A late PENDING snapshot never reopens it, and nothing more is sent.
    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-1")])
    await eventually(lambda: _caught_up(database), "the consumer to catch up", within_s=30)
    assert len(receiver.requests) == 6


async def _caught_up(database: Database) -> bool:
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT coalesce(sum(next_offset), 0) FROM notification_positions "
                                 "WHERE topic = 'sync.items.v1'")
        row = await cur.fetchone()
    return row is not None and int(row[0]) == 3


async def test_5xx_is_retried_with_the_same_webhook_id_and_a_slack_error_fails(
        service: Notifications, org: dict[str, str], receiver: HttpReceiver, postgres_log: PostgresLog,
        database: Database) -> None:
    org_id, stack_id = org["org_id"], org["stack_id"]
    hook, _ = await service.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/r"}, ACTOR)
    bot, _ = await service.api.create_destination(org_id, "bot", "slack_api", {"token": "xoxb-x", "channel": "C1"},
                                                  ACTOR)
    await service.api.put_rule(org_id, stack_id, "", [
        {"after_minutes": 0, "destinations": [hook.destination_id, bot.destination_id]}], ACTOR)
    receiver.scripts["/r"] = [(503, b"try later")]
    receiver.answers["/slack/api/chat.postMessage"] = (200, b'{"ok":false,"error":"channel_not_found"}')
    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-2", deadline=service.config.clock()
                                                                     + timedelta(hours=1))])

    async def settled() -> bool:
        rows = await outbox_rows(database)  # one read: a row queued between two reads is still pending
        return len(rows) == 2 and all(state != "pending" for _, state, _, _ in rows)
    await eventually(settled, "both notifications settled", within_s=30)
    rows = {name: (state, attempts) for name, state, attempts, _ in await outbox_rows(database)}
    assert rows["hook"] == ("delivered", 2)  # a 503, then the 200
    attempts = receiver.on("/r")
    assert [a.headers["webhook-id"] == attempts[0].headers["webhook-id"] for a in attempts] == [True, True]
    assert len({r.headers["webhook-id"] for r in attempts}) == 1  # a retry keeps its idempotency key
    assert rows["bot"] == ("failed", 1)  # channel_not_found: retrying cannot help
    history = {d.destination_name: d for d in await service.api.deliveries(org_id)}
    assert "channel_not_found" in history["bot"].last_error


async def test_escalation_fires_after_the_threshold_and_not_before(
        service: Notifications, org: dict[str, str], receiver: HttpReceiver, postgres_log: PostgresLog,
        clock: FakeClock) -> None:
    org_id, stack_id = org["org_id"], org["stack_id"]
    first, _ = await service.api.create_destination(org_id, "first", "webhook", {"url": receiver.url + "/first"},
                                                    ACTOR)
    pager, _ = await service.api.create_destination(org_id, "pager", "pagerduty", {"routing_key": ROUTING_KEY}, ACTOR)
    await service.api.put_rule(org_id, stack_id, "payments-bot", [
        {"after_minutes": 0, "destinations": [first.destination_id]},
        {"after_minutes": 10, "destinations": [pager.destination_id]}], ACTOR)
    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-3", deadline=clock() + timedelta(hours=1))])
    await eventually(lambda: len(receiver.on("/first")) == 1, "step 0", within_s=30)

    clock.advance(minutes=9, seconds=59)
    assert await service.escalation.run_once() == 0
    clock.advance(seconds=1)
    assert await service.escalation.run_once() == 1
    assert await service.escalation.run_once() == 0  # once only
    service.wake()
    await eventually(lambda: len(receiver.on("/pd/v2/enqueue")) == 1, "the escalation to PagerDuty", within_s=30)
    event = receiver.on("/pd/v2/enqueue")[0].json()
    assert event["event_action"] == "trigger"
    assert event["payload"]["summary"].startswith(
        "Still pending after 10 min: payments-bot wants stripe/refund on payments-prod")
    assert event["payload"]["custom_details"]["step"] == 1


async def test_loopback_destinations_are_refused_unless_allowed(
        database: Database, postgres_log: PostgresLog, org: dict[str, str], receiver: HttpReceiver,
        clock: FakeClock) -> None:
    org_id = org["org_id"]
    strict = Notifications(database, postgres_log, config(receiver, clock, allow_private=False))
    await strict.prepare()
    with pytest.raises(InvalidRouting, match=re.escape("127.0.0.1, a loopback address")):
        await strict.api.create_destination(org_id, "hook", "webhook", {"url": "https://127.0.0.1/x"}, ACTOR)
    with pytest.raises(InvalidRouting, match=re.escape("127.0.0.1, a loopback address")):
        await strict.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/x"}, ACTOR)

    # Saved while allowed, sent while not (or a name that now resolves inside): refused at send time.
    lenient = Notifications(database, postgres_log, config(receiver, clock))
    lenient_key = lenient.config.key
    hook, _ = await lenient.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/x"}, ACTOR)
    await lenient.api.test_destination(org_id, hook.destination_id, ACTOR)
    strict = Notifications(database, postgres_log, NotificationsConfig(
        key=lenient_key, allow_private=False, clock=clock, outbox=OutboxConfig(retry_initial_s=0)))
    assert await strict.outbox.deliver_due() == 1
    [row] = await strict.api.deliveries(org_id)
    assert row.state == "failed" and "loopback" in row.last_error and receiver.requests == []
    await strict.senders.close()


async def test_routing_changes_are_in_the_platform_audit_log_and_replays_queue_nothing_new(
        service: Notifications, org: dict[str, str], receiver: HttpReceiver, database: Database) -> None:
    org_id, stack_id = org["org_id"], org["stack_id"]
    hook, _ = await service.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/h"}, ACTOR)
    rule = await service.api.put_rule(org_id, stack_id, "", [{"after_minutes": 0,
                                                              "destinations": [hook.destination_id]}], ACTOR)
    with pytest.raises(InvalidRouting, match="used by routing rules"):
        await service.api.delete_destination(org_id, hook.destination_id, ACTOR)
    await service.api.delete_rule(org_id, rule.rule_id, ACTOR)
    await service.api.delete_destination(org_id, hook.destination_id, ACTOR)
    actions = [e.action for e in await PlatformAuditLog(database).entries(org_id)]
    for action in ("org:integration:create", "approvals:routing:update", "approvals:routing:delete",
                   "org:integration:delete"):
        assert action in actions
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT config::text, secret FROM notification_destinations")
        assert await cur.fetchall() == []


async def test_a_redelivered_batch_queues_nothing_twice(database: Database, org: dict[str, str],
                                                        receiver: HttpReceiver, clock: FakeClock,
                                                        postgres_log: PostgresLog) -> None:
    from faramesh_cloud.events.topics import H_KIND, SYNC_ITEMS, Origin, stack_key
    from faramesh_cloud.log.port import Message
    from faramesh_cloud.notifications.processor import ApprovalSeen, NotificationProcessor
    from faramesh_cloud.notifications.projection import NotificationSink

    org_id, stack_id = org["org_id"], org["stack_id"]
    notifications = Notifications(database, postgres_log, config(receiver, clock))
    await notifications.prepare()
    hook, _ = await notifications.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url}, ACTOR)
    await notifications.api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]}],
                                     ACTOR)
    headers = Origin(org_id, stack_id, "sync", 1, "buf", 0).headers()
    headers[H_KIND] = b"approval_event"
    event = pending_event("tok-5", deadline=clock() + timedelta(hours=1)).SerializeToString()
    fact = NotificationProcessor().process(Message(SYNC_ITEMS, 0, 7, stack_key(org_id, stack_id), event, headers,
                                                   int(clock().timestamp() * 1000)))
    assert isinstance(fact, ApprovalSeen)
    sink = NotificationSink(database, clock, LINK, lambda: None)
    await sink.write([fact])
    await sink.write([fact])  # redelivered (a crash before the commit)
    assert [(n, s, e) for n, s, _, e in await outbox_rows(database)] == [("hook", "pending", "approval.requested")]
    bad = NotificationProcessor().process(Message(SYNC_ITEMS, 0, 8, b"k", b"\xff\x00garbage", headers, 0))
    assert type(bad).__name__ == "Rejected"


async def test_smtp_4xx_is_retried_and_a_refused_mailbox_fails(
        service: Notifications, org: dict[str, str], sink: SmtpSink, database: Database) -> None:
    org_id = org["org_id"]
    fields = {"smtp_host": "127.0.0.1", "smtp_port": str(sink.port), "starttls": "false",
              "sender": "cloud@example.test"}
    busy, _ = await service.api.create_destination(org_id, "busy", "email", {**fields, "to": "ops@example.test"}, ACTOR)
    gone, _ = await service.api.create_destination(org_id, "gone", "email", {**fields, "to": "left@example.test"},
                                                   ACTOR)
    sink.data_replies.append("451 4.3.0 try again later")
    sink.refused_recipients.add("left@example.test")
    await service.api.test_destination(org_id, busy.destination_id, ACTOR)

    async def busy_settled() -> bool:
        return [(n, s) for n, s, _, _ in await outbox_rows(database)] == [("busy", "delivered")]
    await eventually(busy_settled, "the mail delivered on the second attempt", within_s=30)
    await service.api.test_destination(org_id, gone.destination_id, ACTOR)

    async def gone_settled() -> bool:
        return ("gone", "failed") in [(n, s) for n, s, _, _ in await outbox_rows(database)]
    await eventually(gone_settled, "the refused mailbox recorded as failed", within_s=30)
    rows = {n: (s, a) for n, s, a, _ in await outbox_rows(database)}
    assert rows == {"busy": ("delivered", 2), "gone": ("failed", 1)}
    assert [m.recipients for m in sink.mails] == [["ops@example.test"]]
    [failed] = [d for d in await service.api.deliveries(org_id) if d.destination_name == "gone"]
    assert "left@example.test" in failed.last_error


def signatures(request: object, *secrets_: str) -> list[bool]:
    """For each secret, whether the request carries a valid Standard Webhooks signature by it."""
    headers, body = request.headers, request.body  # type: ignore[attr-defined]
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    present = headers["webhook-signature"].split(" ")
    return ["v1," + base64.b64encode(hmac.new(base64.b64decode(s.removeprefix("whsec_")), signed,
                                              hashlib.sha256).digest()).decode() in present for s in secrets_]


async def test_a_rotated_signing_secret_overlaps_with_the_previous_one(
        service: Notifications, org: dict[str, str], receiver: HttpReceiver, database: Database) -> None:
    org_id = org["org_id"]
    hook, shown = await service.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/w"},
                                                       ACTOR)
    first = shown["signing_secret"]
    _, second = await service.api.rotate_secret(org_id, hook.destination_id, 3600, ACTOR)
    await service.api.test_destination(org_id, hook.destination_id, ACTOR)
    await eventually(lambda: len(receiver.requests) == 1, "the first test", within_s=30)
    assert signatures(receiver.requests[0], second, first) == [True, True]

    _, third = await service.api.rotate_secret(org_id, hook.destination_id, 0, ACTOR)  # no overlap
    await service.api.test_destination(org_id, hook.destination_id, ACTOR)
    await eventually(lambda: len(receiver.requests) == 2, "the second test", within_s=30)
    assert signatures(receiver.requests[1], third, second, first) == [True, False, False]
    with pytest.raises(InvalidRouting, match="0 to 604800 seconds"):
        await service.api.rotate_secret(org_id, hook.destination_id, 10**7, ACTOR)
    actions = [e.action for e in await PlatformAuditLog(database).entries(org_id)]
    assert actions.count("org:integration:rotate_secret") == 2


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    telemetry = build("notifications", SimpleSpanProcessor(InMemorySpanExporter()), reader)
    with activated(telemetry):
        yield reader
    telemetry.shutdown()


def _points(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    data = reader.get_metrics_data()
    assert data is not None
    return {tuple(sorted((k, str(v)) for k, v in (p.attributes or {}).items())): p.value
            for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics if m.name == name
            for p in m.data.data_points}


async def test_notification_deliveries_are_counted_by_kind_and_outcome(
        reader: InMemoryMetricReader, service: Notifications, org: dict[str, str], receiver: HttpReceiver,
        postgres_log: PostgresLog, database: Database) -> None:
    org_id, stack_id = org["org_id"], org["stack_id"]
    hook, _ = await service.api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/r"}, ACTOR)
    bot, _ = await service.api.create_destination(org_id, "bot", "slack_api", {"token": "xoxb-x", "channel": "C1"},
                                                  ACTOR)
    await service.api.put_rule(org_id, stack_id, "", [
        {"after_minutes": 0, "destinations": [hook.destination_id, bot.destination_id]}], ACTOR)
    receiver.scripts["/r"] = [(503, b"try later")]
    receiver.answers["/slack/api/chat.postMessage"] = (200, b'{"ok":false,"error":"channel_not_found"}')
    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-m", deadline=service.config.clock()
                                                                     + timedelta(hours=1))])

    async def settled() -> bool:
        rows = await outbox_rows(database)
        return len(rows) == 2 and all(state != "pending" for _, state, _, _ in rows)
    await eventually(settled, "both notifications settled", within_s=30)

    assert _points(reader, catalogue.NOTIFICATION_DELIVERIES.name) == {
        (("kind", "webhook"), ("outcome", "retry")): 1,  # the 503
        (("kind", "webhook"), ("outcome", "delivered")): 1,
        (("kind", "slack_api"), ("outcome", "failed")): 1,  # channel_not_found: not retried
    }

"""A critical chain-integrity alert reaches notifications, exactly once: a tampered DPR goes
through the real audit index (PostgreSQL log, chDB, PostgreSQL), its ``AlertRaised`` event
(the index's outbox, relayed to audit.alerts.v1) is the hand-off, the real notifications
service consumes it and routes it by the organisation's ``chain_integrity`` rule to local
servers speaking Slack, PagerDuty Events API v2 and Standard Webhooks. Restarting the
service, losing its position, or a rebuilt index raising the alert again sends nothing
twice. Acknowledging the alert (a command of the index: with a note, in the platform audit
log, an ``AlertAcknowledged`` event) resolves the PagerDuty incident with the same dedup
key; an acknowledgement that arrives before its alert is kept, and the alert is then not
notified."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from faramesh_cloud.audit_index import events as codec
from faramesh_cloud.audit_index.alert_events import AlertAcknowledged, AlertKey, AlertRaised
from faramesh_cloud.audit_index.integrity import AlreadyAcknowledged
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.events.topics import AUDIT_ALERTS
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.domain import InvalidRouting
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
from tests.fixtures.ingest import read_topic
from tests.integration.audit_explorer_support import index_tampered
from tests.notifications_support import HttpReceiver, http_receiver
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
ACTOR = Actor.system("test")
LINK = "https://cloud.example.test"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        fake.answers["/pd/v2/enqueue"] = (202, b'{"status":"success","message":"Event processed"}')
        yield fake


def config(receiver: HttpReceiver, key: bytes) -> NotificationsConfig:
    return NotificationsConfig(
        key=key, allow_private=True, link_base=LINK, endpoints=Endpoints(pagerduty=receiver.url + "/pd"),
        send_interval_s=0.05, escalation_interval_s=3600,
        outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=3))


@pytest.fixture
async def service(database: Database, postgres_log: PostgresLog,
                  receiver: HttpReceiver) -> AsyncIterator[Notifications]:
    notifications = Notifications(database, postgres_log, config(receiver, secrets.token_bytes(32)))
    await notifications.start()
    yield notifications
    await notifications.stop()


@pytest.fixture
async def org(people: People, stacks: StackStore) -> dict[str, str]:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    return {"org_id": owner.org.org_id, "stack_id": stack.stack_id}


async def alert_ids(database: Database) -> list[int]:
    async with database.transaction() as conn:
        return [int(r[0]) for r in await (await conn.execute("SELECT alert_id FROM audit_alerts ORDER BY 1")).fetchall()]


async def relay_index_events(database: Database, log: PostgresLog) -> int:
    """What the audit index's relay does while it runs: its outbox onto audit.alerts.v1."""
    return await OutboxRelay(database, log, "audit_index_outbox").relay_once()


async def handled(service: Notifications, messages: int) -> None:
    runner = service.alert_runner
    assert runner is not None
    await eventually(lambda: runner.stats.messages >= messages, f"{messages} alert event(s) handled", within_s=30)


async def test_a_tampered_record_notifies_each_destination_once_and_acknowledging_resolves_pagerduty(
        service: Notifications, org: dict[str, str], receiver: HttpReceiver, database: Database,
        postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> None:
    org_id, stack_id = org["org_id"], org["stack_id"]
    api = service.api
    slack, _ = await api.create_destination(org_id, "security-slack", "slack_webhook",
                                            {"url": receiver.url + "/hooks/T0/B0/SEC"}, ACTOR)
    pager, _ = await api.create_destination(org_id, "security-pager", "pagerduty", {"routing_key": ROUTING_KEY},
                                            ACTOR)
    hook, _ = await api.create_destination(org_id, "siem", "webhook", {"url": receiver.url + "/siem"}, ACTOR)
    approvals_only, _ = await api.create_destination(org_id, "approvers", "webhook",
                                                     {"url": receiver.url + "/approvers"}, ACTOR)
    rule = await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [
        slack.destination_id, pager.destination_id, hook.destination_id]}], ACTOR, subject="chain_integrity")
    assert rule.subject.value == "chain_integrity"
    # An approvals rule of the same scope is another rule, and routes no alert.
    await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [approvals_only.destination_id]}], ACTOR)
    with pytest.raises(InvalidRouting, match="one step"):
        await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [slack.destination_id]},
                                            {"after_minutes": 5, "destinations": [pager.destination_id]}],
                           ACTOR, subject="chain_integrity")

    tampered = await index_tampered(database, postgres_log, chdb, olap_database, org_id, stack_id)
    [alert_id] = await alert_ids(database)
    await eventually(lambda: len(receiver.requests) == 3, "Slack, PagerDuty and the webhook", within_s=30)

    dedup = f"faramesh/{org_id}/{stack_id}/alert-{alert_id}"
    explain = f"{LINK}/o/acme/audit/records/{tampered['record_id']}"
    integrity = f"{LINK}/o/acme/audit/integrity/{stack_id}"
    [trigger] = receiver.on("/pd/v2/enqueue")
    event = trigger.json()
    assert {k: event[k] for k in ("routing_key", "event_action", "dedup_key")} == {
        "routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": dedup}
    payload = event["payload"]
    assert payload["severity"] == "critical" and payload["class"] == "chain_integrity"
    assert payload["summary"].startswith(
        "Chain integrity: record_hash_mismatch on tampered-agent (payments-prod, acme).")
    assert payload["custom_details"]["record"] == tampered["record_id"]
    assert payload["custom_details"]["organisation"] == "acme"
    assert payload["custom_details"]["alert_id"] == str(alert_id)
    assert [link["href"] for link in event["links"]] == [explain, integrity]

    [slack_post] = receiver.on("/hooks/T0/B0/SEC")
    body = slack_post.json()
    assert body["text"].startswith("Chain integrity: record_hash_mismatch on tampered-agent (payments-prod, acme)")
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in body["blocks"][1]["fields"]}
    assert fields["*Record*"] == tampered["record_id"] and fields["*Stack*"] == "payments-prod"
    assert [e["url"] for e in body["blocks"][-1]["elements"]] == [explain, integrity]

    [siem] = receiver.on("/siem")
    assert siem.json()["type"] == "chain_integrity.alert"
    data = siem.json()["data"]
    assert (data["finding"], data["record_id"], data["dedup_key"]) == ("record_hash_mismatch", tampered["record_id"],
                                                                       dedup)
    assert "tool_id" not in data and "reason" not in data  # the approval fields are not part of an alert
    assert receiver.on("/approvers") == []

    # A restart, and even a lost position (the group's and the projection's), sends nothing twice.
    await service.stop()
    again = Notifications(database, postgres_log, service.config)
    await again.start()
    await again.stop()
    async with database.transaction() as conn:
        await conn.execute("DELETE FROM notification_alert_positions WHERE topic = %s", (AUDIT_ALERTS,))
    again = Notifications(database, postgres_log, dataclasses.replace(service.config, group="notifications-new"))
    await again.start()
    await handled(again, 1)
    # A rebuilt index raises the same alert again (its event on the log once more).
    [raised] = [m for m in await read_topic(postgres_log, AUDIT_ALERTS) if m.headers["kind"] == b"AlertRaised"]
    await postgres_log.append(AUDIT_ALERTS, [LogRecord(raised.key, raised.value, dict(raised.headers))])
    await handled(again, 2)
    assert again.alerts.queued == 0
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 3

    # Acknowledged (by a person, with a note, in the platform audit log): PagerDuty resolves the
    # incident and the webhook hears of it; Slack stays quiet. Twice is refused.
    reader = IndexReader(chdb, database, AuditTables(olap_database))
    operator = Actor(ActorType.USER, "u-1", "olga@example.test")
    done = await reader.acknowledge_alert(org_id, alert_id, "re-keyed the agent; the edit was a test", operator)
    assert done.acknowledged and done.acknowledged_note == "re-keyed the agent; the edit was a test"
    with pytest.raises(AlreadyAcknowledged, match=r"was acknowledged by olga@example\.test"):
        await reader.acknowledge_alert(org_id, alert_id, "again", operator)
    assert await relay_index_events(database, postgres_log) == 1  # the one AlertAcknowledged
    await eventually(lambda: len(receiver.requests) == 5, "the PagerDuty resolve and the webhook event", within_s=30)
    assert receiver.on("/pd/v2/enqueue")[1].json() == {"routing_key": ROUTING_KEY, "event_action": "resolve",
                                                       "dedup_key": dedup}
    acknowledged = receiver.on("/siem")[1].json()
    assert acknowledged["type"] == "chain_integrity.acknowledged"
    assert acknowledged["data"]["acknowledged_note"] == "re-keyed the agent; the edit was a test"
    assert len(receiver.on("/hooks/T0/B0/SEC")) == 1
    [entry] = [e for e in await PlatformAuditLog(database).entries(org_id) if e.action == "audit:alert:acknowledge"]
    assert (entry.target.id, entry.actor.label) == (str(alert_id), "olga@example.test")
    assert entry.details["note"] == "re-keyed the agent; the edit was a test"
    assert await reader.alerts(org_id) == []  # Home's attention panel reads the open ones
    [kept] = await reader.alerts(org_id, include_acknowledged=True)
    assert kept.acknowledged and kept.acknowledged_by
    await again.stop()


async def test_an_acknowledgement_before_its_alert_is_kept_and_nothing_is_notified(
        database: Database, postgres_log: PostgresLog, org: dict[str, str], receiver: HttpReceiver) -> None:
    """On an empty-database replay the acknowledgement can come first: the service keeps it by
    the alert's identity and records the alert acknowledged when it is raised; nothing is sent.
    An alert of another identity is still notified, once."""
    org_id, stack_id = org["org_id"], org["stack_id"]
    notifications = Notifications(database, postgres_log, config(receiver, secrets.token_bytes(32)))
    await notifications.start()
    try:
        hook, _ = await notifications.api.create_destination(org_id, "siem", "webhook",
                                                             {"url": receiver.url + "/siem"}, ACTOR)
        await notifications.api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]}],
                                         ACTOR, subject="chain_integrity")
        early = AlertKey(org_id, stack_id, "agent-a", "rec-1", "h1", "gap")
        other = AlertKey(org_id, stack_id, "agent-b", "rec-2", "h2", "gap")
        when = datetime(2026, 5, 28, tzinfo=UTC)
        await postgres_log.append(AUDIT_ALERTS, [
            codec.record(AlertAcknowledged(key=early, occurred_at=when, alert_id=early.alert_id(), actor_type="user",
                                           actor_id="u-1", actor_label="olga@example.test", note="known")),
            codec.record(AlertRaised(key=early, occurred_at=when, alert_id=early.alert_id(), severity="critical",
                                     message="a gap", record_created_at="")),
            codec.record(AlertRaised(key=other, occurred_at=when, alert_id=other.alert_id(), severity="critical",
                                     message="a gap", record_created_at="")),
        ])
        await handled(notifications, 3)
        await eventually(lambda: len(receiver.on("/siem")) == 1, "the other alert's webhook", within_s=30)
        [sent] = receiver.on("/siem")
        assert sent.json()["data"]["record_id"] == "rec-2"
        async with database.transaction() as conn:
            rows = await (await conn.execute(
                "SELECT agent_id, state FROM notification_alerts ORDER BY agent_id")).fetchall()
        assert rows == [("agent-a", "acknowledged"), ("agent-b", "open")]
    finally:
        await notifications.stop()

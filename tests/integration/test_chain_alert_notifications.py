"""A critical chain-integrity alert reaches notifications, exactly once: a tampered DPR goes
through the real audit index (PostgreSQL log, chDB, PostgreSQL), its alert row is the hand-off,
the real notifications service routes it by the organisation's ``chain_integrity`` rule to
local servers speaking Slack, PagerDuty Events API v2 and Standard Webhooks. Restarting the
service, or losing its position, sends nothing twice; an alert whose transaction has not
committed yet is waited for, never skipped. Acknowledging the alert (with a note, in the
platform audit log) resolves the PagerDuty incident with the same dedup key."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from faramesh_cloud.audit_index.integrity import AlreadyAcknowledged
from faramesh_cloud.audit_index.postgres import COMPONENT as AUDIT_INDEX
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.domain import InvalidRouting
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.runtime.audit_reader import IndexAuditReader
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
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
        send_interval_s=0.05, escalation_interval_s=3600, alerts_interval_s=0.05,
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

    # A restart, and even a lost position, sends nothing twice.
    await service.stop()
    again = Notifications(database, postgres_log, service.config)
    await again.start()
    async with database.transaction() as conn:
        await conn.execute("UPDATE notification_alert_cursor SET next_alert_id = 1, gap_xmax = NULL, gap_below = NULL")
    assert await again.alerts.run_once() == 0
    assert await again.alerts.run_once() == 0
    # A rebuilt index writes the same alert again under a new id: not a new alert.
    columns = "org_id, stack_id, agent_id, record_id, record_hash, kind, message, record_created_at, created_at"
    async with database.transaction() as conn:
        await conn.execute(f"WITH old AS (DELETE FROM audit_alerts RETURNING *) "
                           f"INSERT INTO audit_alerts ({columns}) SELECT {columns} FROM old")
    [alert_id] = await alert_ids(database)
    assert await again.alerts.run_once() == 0
    await asyncio.sleep(0.3)
    assert len(receiver.requests) == 3

    # Acknowledged (by a person, with a note, in the platform audit log): PagerDuty resolves the
    # incident and the webhook hears of it; Slack stays quiet. Twice is refused.
    reader = IndexAuditReader(chdb, database, AuditTables(olap_database))
    operator = Actor(ActorType.USER, "u-1", "olga@example.test")
    done = await reader.acknowledge_alert(org_id, alert_id, "re-keyed the agent; the edit was a test", operator)
    assert done.acknowledged and done.acknowledged_note == "re-keyed the agent; the edit was a test"
    with pytest.raises(AlreadyAcknowledged, match="was acknowledged by"):
        await reader.acknowledge_alert(org_id, alert_id, "again", operator)
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


async def test_an_alert_still_being_written_is_waited_for_and_a_burnt_id_is_passed(
        database: Database, postgres_log: PostgresLog, org: dict[str, str], receiver: HttpReceiver) -> None:
    """Alert ids are taken in order but committed in any order: the feed never moves past an id
    whose transaction may still commit, and passes one that never will (rolled back)."""
    org_id, stack_id = org["org_id"], org["stack_id"]
    notifications = Notifications(database, postgres_log, config(receiver, secrets.token_bytes(32)))
    await notifications.prepare()
    await migrate(database, [AUDIT_INDEX])
    hook, _ = await notifications.api.create_destination(org_id, "siem", "webhook", {"url": receiver.url + "/siem"},
                                                         ACTOR)
    await notifications.api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]}],
                                     ACTOR, subject="chain_integrity")

    async def insert(conn, agent: str) -> None:  # type: ignore[no-untyped-def]
        # As the index's batch does: its transaction has an xid (positions locked) before the alert.
        await conn.execute("SELECT txid_current()")
        await conn.execute(
            "INSERT INTO audit_alerts (org_id, stack_id, agent_id, record_id, record_hash, kind, message, "
            "record_created_at, created_at) VALUES (%s, %s, %s, %s, 'h', 'gap', 'a gap', '', now())",
            (org_id, stack_id, agent, f"rec-{agent}"))

    async def routed() -> list[str]:
        async with database.transaction() as conn:
            cur = await conn.execute("SELECT agent_id FROM notification_alerts ORDER BY alert_id")
            return [r[0] for r in await cur.fetchall()]

    async with database.connection() as slow:
        await slow.execute("BEGIN")
        await insert(slow, "slow")  # takes the lower id, not committed yet
        async with database.transaction() as fast:
            await insert(fast, "fast")
        assert await notifications.alerts.run_once() == 0
        assert await notifications.alerts.run_once() == 0
        assert await routed() == []  # "fast" waits behind the open "slow"
        await slow.execute("COMMIT")
    assert await notifications.alerts.run_once() == 2
    assert await routed() == ["slow", "fast"]

    async with database.connection() as doomed:
        await doomed.execute("BEGIN")
        await insert(doomed, "doomed")
        async with database.transaction() as later:
            await insert(later, "later")
        assert await notifications.alerts.run_once() == 0
        await doomed.execute("ROLLBACK")  # its id is never committed
    assert await notifications.alerts.run_once() == 1  # the gap is passed once its transaction ended
    assert await routed() == ["slow", "fast", "later"]
    await notifications.senders.close()

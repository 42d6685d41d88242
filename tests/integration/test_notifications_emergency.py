"""Emergency commands notify through the same routing, end to end on real PostgreSQL and the
PostgreSQL log: ``commands.emergency.v1`` events as the approvals service writes them
(issued, delivered, acknowledged) → the notifications service's consumer (group
``notifications-commands``) → the organisation's ``emergency_commands`` rule → a webhook, PagerDuty
(trigger, then resolve when applied) and a group's members by email. A failure is notified
as critical; a command with no rule, an old event read again and a redelivery notify nobody."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from faramesh_cloud.approvals.changes import (
    EmergencyCommandAcknowledged,
    EmergencyCommandDelivered,
    EmergencyCommandIssued,
)
from faramesh_cloud.approvals.domain import CommandType
from faramesh_cloud.approvals.events import encode
from faramesh_cloud.events.topics import EMERGENCY_COMMANDS
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.domain import InvalidRouting
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import People
from tests.notifications_support import FakeClock, HttpReceiver, SmtpSink, http_receiver, smtp_sink
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
ACTOR = Actor.system("test")
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
OSCAR = Actor(ActorType.USER, str(uuid.uuid4()), "oscar@example.test")


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with http_receiver() as fake:
        fake.answers["/pd/v2/enqueue"] = (202, b'{"status":"success","message":"Event processed"}')
        yield fake


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def service(database: Database, postgres_log: PostgresLog, receiver: HttpReceiver,
                  clock: FakeClock) -> AsyncIterator[Notifications]:
    notifications = Notifications(database, postgres_log, NotificationsConfig(
        key=secrets.token_bytes(32), allow_private=True, link_base="https://cloud.example.test",
        endpoints=Endpoints(pagerduty=receiver.url + "/pd"), clock=clock, send_interval_s=0.05,
        escalation_interval_s=3600, outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=3)))
    await notifications.start()
    yield notifications
    await notifications.stop()


async def issue(log: PostgresLog, org_id: str, stack_id: str, at: datetime, agent: str = "payments-bot",
                kind: CommandType = CommandType.KILL) -> str:
    command_id = str(uuid.uuid4())
    await log.append(EMERGENCY_COMMANDS, [encode(EmergencyCommandIssued(
        str(uuid.uuid4()), at, org_id, stack_id, command_id, agent, kind, "leaking card numbers", OSCAR))])
    return command_id


async def acknowledge(log: PostgresLog, org_id: str, stack_id: str, command_id: str, at: datetime,
                      outcome: str, message: str = "") -> None:
    await log.append(EMERGENCY_COMMANDS, [
        encode(EmergencyCommandDelivered(str(uuid.uuid4()), at, org_id, stack_id, command_id)),
        encode(EmergencyCommandAcknowledged(str(uuid.uuid4()), at, org_id, stack_id, command_id, outcome, at,
                                            "rec-1", message))])


async def test_issued_applied_and_failed_commands_are_notified_through_the_routing(
        service: Notifications, people: People, stacks: StackStore, identity: Identity, receiver: HttpReceiver,
        sink: SmtpSink, postgres_log: PostgresLog, clock: FakeClock, database: Database) -> None:
    owner = await people.org("acme")
    org_id = owner.org.org_id
    by = await people.principal(owner)
    stack, _ = await stacks.register_stack(org_id, "payments-prod", "prod")
    ada = await people.member(owner, Role.ADMIN, email="ada@example.test")
    sre = await identity.groups.create(org_id, "sre", "", by)
    await identity.groups.add_member(org_id, sre.group_id, ada.user.user_id, by)
    api = service.api
    hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/hook"}, ACTOR)
    pager, _ = await api.create_destination(org_id, "pager", "pagerduty", {"routing_key": ROUTING_KEY}, ACTOR)
    mail, _ = await api.create_destination(org_id, "mail", "email", {
        "smtp_host": "127.0.0.1", "smtp_port": str(sink.port), "starttls": "false",
        "sender": "cloud@example.test", "to": "team@example.test"}, ACTOR)
    with pytest.raises(InvalidRouting, match="one step"):
        await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id]},
                                            {"after_minutes": 5, "destinations": [pager.destination_id]}], ACTOR,
                           subject="emergency_commands")
    await api.put_rule(org_id, stack.stack_id, "", [{
        "after_minutes": 0, "destinations": [hook.destination_id, pager.destination_id],
        "groups": [sre.group_id], "group_email": mail.destination_id}], ACTOR, subject="emergency_commands")

    killed = await issue(postgres_log, org_id, stack.stack_id, clock())
    await eventually(lambda: len(receiver.on("/hook")) == 1 and len(receiver.on("/pd/v2/enqueue")) == 1
                     and len(sink.mails) == 1, "the issued command told", within_s=30)
    issued = receiver.on("/hook")[0].json()
    assert issued["type"] == "emergency.issued"
    assert issued["data"]["agent_id"] == "payments-bot" and issued["data"]["reason"] == "leaking card numbers"
    assert issued["data"]["resolved_by"] == "oscar@example.test"
    assert issued["data"]["dedup_key"] == f"faramesh/{org_id}/{stack.stack_id}/cmd-{killed}"
    trigger = receiver.on("/pd/v2/enqueue")[0].json()
    assert trigger["event_action"] == "trigger" and trigger["payload"]["severity"] == "warning"
    assert trigger["payload"]["class"] == "emergency_command"
    assert trigger["payload"]["summary"].startswith(
        "Emergency kill issued for payments-bot on payments-prod by oscar@example.test")
    assert sink.mails[0].recipients == ["ada@example.test"]  # the sre group, not the mail's own list

    await acknowledge(postgres_log, org_id, stack.stack_id, killed, clock(), "applied")
    await eventually(lambda: len(receiver.on("/hook")) == 2 and len(receiver.on("/pd/v2/enqueue")) == 2
                     and len(sink.mails) == 2, "the applied command told", within_s=30)
    assert receiver.on("/hook")[1].json()["type"] == "emergency.applied"
    assert receiver.on("/pd/v2/enqueue")[1].json() == {
        "routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": f"faramesh/{org_id}/{stack.stack_id}/cmd-{killed}"}
    assert "Emergency kill applied to payments-bot" in str(sink.mails[1].message["Subject"])

    isolated = await issue(postgres_log, org_id, stack.stack_id, clock(), kind=CommandType.ISOLATE)
    await acknowledge(postgres_log, org_id, stack.stack_id, isolated, clock(), "failed", "shadow mode unavailable")
    await eventually(lambda: len(receiver.on("/hook")) == 4, "the isolate issued and failed", within_s=30)
    failed = receiver.on("/hook")[3].json()
    assert failed["type"] == "emergency.failed" and failed["data"]["outcome"] == "failed"
    assert failed["data"]["message"] == "shadow mode unavailable"
    await eventually(lambda: len(receiver.on("/pd/v2/enqueue")) == 4, "PagerDuty told of the failure", within_s=30)
    page = receiver.on("/pd/v2/enqueue")[3].json()
    assert page["payload"]["severity"] == "critical"
    assert page["payload"]["summary"].startswith("Emergency isolate failed for payments-bot on payments-prod")

    # No rule for another stack: nobody is told. An old event read again (the topic from its
    # start, e.g. a new consumer group) notifies nobody either.
    other, _ = await stacks.register_stack(org_id, "search", "prod")
    await issue(postgres_log, org_id, other.stack_id, clock())
    await issue(postgres_log, org_id, stack.stack_id, clock() - timedelta(hours=2))
    marker = await issue(postgres_log, org_id, stack.stack_id, clock(), agent="marker-bot")
    await eventually(lambda: len(receiver.on("/hook")) == 5, "the marker", within_s=30)
    assert receiver.on("/hook")[4].json()["data"]["defer_token"] == f"cmd-{marker}"
    async with database.transaction() as conn:
        counts: Any = await (await conn.execute(
            "SELECT event, count(*) FROM notification_deliveries WHERE event LIKE 'emergency.%%' "
            "GROUP BY event ORDER BY event")).fetchall()
    assert counts == [("emergency.applied", 3), ("emergency.failed", 3), ("emergency.issued", 9)]

    # A second instance with a new consumer group reads the topic from its start: the position
    # stored with the rows and the notifications' ids (uuid5 of what they are) keep anyone
    # from being told twice.
    again = Notifications(database, postgres_log, NotificationsConfig(
        key=service.config.key, group="notifications-again", allow_private=True, clock=clock,
        endpoints=Endpoints(pagerduty=receiver.url + "/pd"), send_interval_s=0.05, escalation_interval_s=3600))
    await again.start()
    try:
        ends = dict(await postgres_log.end_offsets(EMERGENCY_COMMANDS))
        runner = again.command_runner
        assert runner is not None
        await eventually(lambda: runner.caught_up(ends), "the commands read again", within_s=30)
        async with database.transaction() as conn:
            assert await (await conn.execute(
                "SELECT event, count(*) FROM notification_deliveries WHERE event LIKE 'emergency.%%' "
                "GROUP BY event ORDER BY event")).fetchall() == counts
    finally:
        await again.stop()
    assert len(receiver.on("/hook")) == 5

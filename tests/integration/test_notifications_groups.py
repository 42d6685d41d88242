"""Routing to groups of members, end to end on real PostgreSQL and the PostgreSQL log: a rule's
step and an escalation step name groups (Settings → Members → Groups); each member is emailed
through the email destination chosen on the step (a local SMTP server); who was told is in
the queued notice (so a rebuild sends to the same people); bad steps are refused with the
reason; the email destination a step reaches groups through cannot be deleted under it. And
an edited email destination (Settings → Integrations → Edit) sends to its new recipients."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.domain import InvalidRouting
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import pending_event, push_events
from tests.fixtures.identity import People
from tests.notifications_support import FakeClock, HttpReceiver, SmtpSink, http_receiver, smtp_sink
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
ACTOR = Actor.system("test")


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


@pytest.fixture
async def service(database: Database, postgres_log: PostgresLog, receiver: HttpReceiver,
                  clock: FakeClock) -> AsyncIterator[Notifications]:
    notifications = Notifications(database, postgres_log, NotificationsConfig(
        key=secrets.token_bytes(32), allow_private=True, link_base="https://cloud.example.test",
        endpoints=Endpoints(slack_api=receiver.url + "/slack", pagerduty=receiver.url + "/pd"), clock=clock,
        send_interval_s=0.05, escalation_interval_s=3600,
        outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=3)))
    await notifications.start()
    yield notifications
    await notifications.stop()


@pytest.fixture
async def acme(people: People, stacks: StackStore, identity: Identity) -> dict[str, Any]:
    owner = await people.org("acme")
    by = await people.principal(owner)
    org_id = owner.org.org_id
    stack, _ = await stacks.register_stack(org_id, "payments-prod", "prod")
    oscar = await people.member(owner, Role.OPERATOR, email="oscar@example.test")
    ada = await people.member(owner, Role.ADMIN, email="ada@example.test")
    oncall = await identity.groups.create(org_id, "oncall", "", by)
    leads = await identity.groups.create(org_id, "leads", "", by)
    for group, person in ((oncall, oscar), (oncall, ada), (leads, ada)):
        await identity.groups.add_member(org_id, group.group_id, person.user.user_id, by)
    return {"org_id": org_id, "stack_id": stack.stack_id, "oncall": oncall.group_id, "leads": leads.group_id,
            "by": by}


def mail_fields(sink: SmtpSink) -> dict[str, str]:
    return {"smtp_host": "127.0.0.1", "smtp_port": str(sink.port), "starttls": "false",
            "sender": "cloud@example.test", "to": "team@example.test"}


async def test_steps_and_escalations_email_each_member_of_their_groups(
        service: Notifications, acme: dict[str, Any], receiver: HttpReceiver, sink: SmtpSink,
        postgres_log: PostgresLog, database: Database, clock: FakeClock) -> None:
    org_id, stack_id = acme["org_id"], acme["stack_id"]
    api = service.api
    hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/first"}, ACTOR)
    mail, _ = await api.create_destination(org_id, "mail", "email", mail_fields(sink), ACTOR)
    rule = await api.put_rule(org_id, stack_id, "", [
        # at once: the webhook, and the oncall group through the mail server (not the team list)
        {"after_minutes": 0, "destinations": [hook.destination_id], "groups": [acme["oncall"]],
         "group_email": mail.destination_id},
        # after 10 minutes: the team list AND the leads group, in one email
        {"after_minutes": 10, "destinations": [mail.destination_id], "groups": [acme["leads"]],
         "group_email": mail.destination_id}], ACTOR)
    assert [(s.groups, s.group_email) for s in (await api.rule(org_id, rule.rule_id)).steps] == [
        ((acme["oncall"],), mail.destination_id), ((acme["leads"],), mail.destination_id)]

    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-g", deadline=clock() + timedelta(hours=1))])
    await eventually(lambda: len(sink.mails) == 1 and len(receiver.on("/first")) == 1, "step 0", within_s=30)
    assert sink.mails[0].recipients == ["ada@example.test", "oscar@example.test"]
    assert "Approval needed" in str(sink.mails[0].message["Subject"])

    clock.advance(minutes=10)
    assert await service.escalation.run_once() == 1
    service.wake()
    await eventually(lambda: len(sink.mails) == 2, "the escalation email", within_s=30)
    assert sink.mails[1].recipients == ["team@example.test", "ada@example.test"]
    assert "Still pending after 10 min" in str(sink.mails[1].message["Subject"])

    # Who was told is part of the queued notification (and of its NotificationQueued event):
    # a rebuild from the log restores these rows and sends to the same people.
    async with database.transaction() as conn:
        rows = await (await conn.execute(
            "SELECT step, notice->'extra' FROM notification_deliveries WHERE destination_id = %s ORDER BY step",
            (mail.destination_id,))).fetchall()
    assert rows == [(0, {"group_recipients": ["ada@example.test", "oscar@example.test"], "only_groups": True}),
                    (1, {"group_recipients": ["ada@example.test"], "only_groups": False})]

    # The mail destination is in use by the rule (for its groups): not deleted under it.
    with pytest.raises(InvalidRouting, match="used by routing rules"):
        await api.delete_destination(org_id, mail.destination_id, ACTOR)


async def test_bad_group_steps_are_refused_with_the_reason(
        service: Notifications, acme: dict[str, Any], receiver: HttpReceiver, sink: SmtpSink,
        people: People, identity: Identity) -> None:
    org_id = acme["org_id"]
    api = service.api
    hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/first"}, ACTOR)
    mail, _ = await api.create_destination(org_id, "mail", "email", mail_fields(sink), ACTOR)
    other = await people.org("globex")
    theirs = await identity.groups.create(other.org.org_id, "oncall", "", await people.principal(other))
    cases = [
        ({"groups": [acme["oncall"]]}, "choose one of your email destinations"),
        ({"groups": [acme["oncall"]], "group_email": hook.destination_id}, "choose one of your email destinations"),
        ({"groups": [theirs.group_id], "group_email": mail.destination_id}, "no group"),
        ({"groups": ["not-a-group"], "group_email": mail.destination_id}, "no group"),
        ({"groups": []}, "names no destination or group"),
        ({"groups": "oops", "group_email": mail.destination_id}, "no group"),
    ]
    for extra, reason in cases:
        with pytest.raises(InvalidRouting, match=reason):
            await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [], **extra}], ACTOR)
    assert await api.rules(org_id) == []


async def test_a_group_with_nobody_in_it_adds_nobody(
        service: Notifications, acme: dict[str, Any], receiver: HttpReceiver, sink: SmtpSink,
        postgres_log: PostgresLog, identity: Identity, database: Database, clock: FakeClock) -> None:
    org_id, stack_id = acme["org_id"], acme["stack_id"]
    api = service.api
    hook, _ = await api.create_destination(org_id, "hook", "webhook", {"url": receiver.url + "/first"}, ACTOR)
    mail, _ = await api.create_destination(org_id, "mail", "email", mail_fields(sink), ACTOR)
    empty = await identity.groups.create(org_id, "empty", "", acme["by"])
    await api.put_rule(org_id, "", "", [{"after_minutes": 0, "destinations": [hook.destination_id],
                                         "groups": [empty.group_id], "group_email": mail.destination_id}], ACTOR)
    await push_events(postgres_log, org_id, stack_id, [pending_event("tok-e", deadline=clock() + timedelta(hours=1))])
    await eventually(lambda: len(receiver.on("/first")) == 1, "the webhook", within_s=30)
    async with database.transaction() as conn:
        queued = await (await conn.execute("SELECT destination_id::text FROM notification_deliveries")).fetchall()
    assert queued == [(hook.destination_id,)] and sink.mails == []


async def test_an_edited_email_destination_sends_to_its_new_recipients(
        service: Notifications, acme: dict[str, Any], sink: SmtpSink) -> None:
    org_id = acme["org_id"]
    api = service.api
    mail, _ = await api.create_destination(org_id, "mail", "email", {**mail_fields(sink), "password": "pw"}, ACTOR)
    edited = await api.update_destination(org_id, mail.destination_id, "team-mail",
                                          {"to": "new@example.test, other@example.test"}, ACTOR)
    assert (edited.name, edited.config["to"]) == ("team-mail", ["new@example.test", "other@example.test"])
    with pytest.raises(InvalidRouting, match="secret"):
        await api.update_destination(org_id, mail.destination_id, "", {"password": "changed"}, ACTOR)
    with pytest.raises(InvalidRouting, match="no editable field"):
        await api.update_destination(org_id, mail.destination_id, "", {"token": "x"}, ACTOR)
    await api.test_destination(org_id, mail.destination_id, ACTOR)
    await eventually(lambda: len(sink.mails) == 1, "the test email", within_s=30)
    assert sink.mails[0].recipients == ["new@example.test", "other@example.test"]

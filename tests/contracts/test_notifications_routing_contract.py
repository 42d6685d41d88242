"""One contract for the gateway's ``NotificationsPort``, held by both adapters: the notifications
service's ``NotificationsApi`` in process, and ``NotificationsClient`` talking to the service's
real servicer over real mutual TLS on 127.0.0.1 (``tests/notifications_adapters.py``). On the
same seeded data (real PostgreSQL, the real command handlers) every port method gives the
same values (compared with what ``NotificationsApi`` answers itself), absences and order; the
same refusals with the same words and codes (an SSRF-refused URL, a name in use, a destination
still routed to, bad steps); the actor and address a change names reach the platform audit
log and the service's event; secrets go in and never come back; another organisation's
destinations and rules are not found; and while the service rebuilds from the log a change is
"busy, try again in 30 s"."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from faramesh_cloud_api.notifications.v1 import events_pb2

from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.notifications.api import NotificationsApi
from faramesh_cloud.notifications.domain import Destination, Kind, Rule, Subject
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.rpc.errors import ServiceBusy
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.internal_tls import ServiceTls
from tests.notifications_adapters import ADAPTERS, notifications_adapter
from tests.notifications_support import notifications_api

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"
BOT_TOKEN = "xoxb-1234-secret-bot-token"
OWNER = Actor(ActorType.USER, str(uuid.uuid4()), "owner@acme.test", "203.0.113.7")
BETA = Actor(ActorType.USER, str(uuid.uuid4()), "owner@beta.test", "198.51.100.9")


@dataclasses.dataclass(frozen=True)
class Seeded:
    acme: str
    beta: str
    pay: str
    search: str
    hook: Destination
    pd: Destination
    beta_hook: Destination
    org_rule: Rule
    pay_rule: Rule
    chain_rule: Rule
    beta_rule: Rule
    test_ref: str


@pytest.fixture
def api(database: Database) -> NotificationsApi:
    made: NotificationsApi = notifications_api(database)
    return made


@pytest.fixture
async def seeded(api: NotificationsApi, stacks: StackStore) -> Seeded:
    acme = (await stacks.create_org("acme", "Acme")).org_id
    beta = (await stacks.create_org("beta", "Beta")).org_id
    pay, _ = await stacks.register_stack(acme, "payments-prod", "production")
    search, _ = await stacks.register_stack(acme, "search-staging", "staging")
    hook, _ = await api.create_destination(acme, "payments-hook", "webhook", {"url": "https://1.1.1.1/hook"}, OWNER)
    pd, _ = await api.create_destination(acme, "oncall", "pagerduty", {"routing_key": ROUTING_KEY}, OWNER)
    beta_hook, _ = await api.create_destination(beta, "beta-hook", "webhook", {"url": "https://8.8.8.8/b"}, BETA)
    org_rule = await api.put_rule(acme, "", "", [{"after_minutes": 0, "destinations": [pd.destination_id]}], OWNER)
    pay_rule = await api.put_rule(acme, pay.stack_id, "", [
        {"after_minutes": 0, "destinations": [hook.destination_id]},
        {"after_minutes": 15, "destinations": [pd.destination_id, hook.destination_id]}], OWNER)
    chain_rule = await api.put_rule(acme, "", "", [{"after_minutes": 0, "destinations": [pd.destination_id]}], OWNER,
                                    subject="chain_integrity")
    beta_rule = await api.put_rule(beta, "", "", [{"after_minutes": 0, "destinations": [beta_hook.destination_id]}],
                                   BETA)
    test_ref = await api.test_destination(acme, hook.destination_id, OWNER)
    return Seeded(acme, beta, pay.stack_id, search.stack_id, hook, pd, beta_hook, org_rule, pay_rule, chain_rule,
                  beta_rule, test_ref)


@pytest.fixture(params=ADAPTERS)
async def port(request: pytest.FixtureRequest, api: NotificationsApi, internal_tls: ServiceTls) -> AsyncIterator[Any]:
    async with notifications_adapter(request.param, api, internal_tls) as adapter:
        yield adapter


async def refusal(call: Any) -> Exception:
    try:
        await call
    except Exception as exc:
        return exc
    raise AssertionError("the call was not refused")


async def last_event(database: Database) -> tuple[str, bytes]:
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT headers, value FROM notifications_outbox ORDER BY id DESC LIMIT 1")
        row = await cur.fetchone()
    assert row is not None
    return decode_headers(row[0])["kind"].decode(), bytes(row[1])


async def test_destinations_are_listed_by_name_without_secrets(port: Any, api: NotificationsApi,
                                                               seeded: Seeded) -> None:
    assert tuple(port.kinds) == tuple(Kind)
    listed = await port.destinations(seeded.acme)
    assert listed == await api.destinations(seeded.acme)
    assert [(d.name, d.kind, d.config) for d in listed] == [
        ("oncall", Kind.PAGERDUTY, {"key_hint": "CDEF"}),
        ("payments-hook", Kind.WEBHOOK, {"url": "https://1.1.1.1/hook"})]
    hook = listed[1]
    assert isinstance(hook, Destination) and hook == seeded.hook
    assert hook.created_by == "owner@acme.test" and hook.created_at is not None and hook.created_at.tzinfo
    assert hook.summary() == "https://1.1.1.1/hook" and listed[0].summary() == "routing key …CDEF"
    assert ROUTING_KEY not in repr(listed) and "whsec_" not in repr(listed)
    assert await port.destination(seeded.acme, seeded.pd.destination_id) == seeded.pd


async def test_an_unknown_or_other_organisations_destination_is_not_found(port: Any, seeded: Seeded) -> None:
    for missing in (seeded.beta_hook.destination_id, str(uuid.uuid4()), "not-a-uuid"):
        for call in (port.destination(seeded.acme, missing),
                     port.delete_destination(seeded.acme, missing, OWNER),
                     port.rotate_secret(seeded.acme, missing, 60, OWNER),
                     port.test_destination(seeded.acme, missing, OWNER)):
            exc = await refusal(call)
            assert type(exc) is LookupError and str(exc) == f"no destination {missing!r} in this organisation"
    assert await port.destination(seeded.beta, seeded.beta_hook.destination_id) == seeded.beta_hook


async def test_secrets_go_in_sealed_and_only_a_webhooks_signing_secret_comes_back_once(
        port: Any, api: NotificationsApi, seeded: Seeded, database: Database) -> None:
    slack, shown = await port.create_destination(seeded.acme, "  team-slack ", "slack_api",
                                                 {"token": BOT_TOKEN, "channel": "C0123456789"}, OWNER)
    assert shown == {} and slack.name == "team-slack" and slack.config == {"channel": "C0123456789"}
    assert BOT_TOKEN not in repr(slack) and BOT_TOKEN not in repr(await port.destinations(seeded.acme))
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT secret FROM notification_destinations WHERE destination_id = %s",
                                 (slack.destination_id,))
        row = await cur.fetchone()
    assert row is not None and BOT_TOKEN.encode() not in bytes(row[0])  # sealed by the service

    hook, shown = await port.create_destination(seeded.acme, "audit-hook", "webhook",
                                                {"url": "https://1.1.1.1/audit"}, OWNER)
    assert list(shown) == ["signing_secret"] and shown["signing_secret"].startswith("whsec_")
    assert shown["signing_secret"] not in repr(await port.destination(seeded.acme, hook.destination_id))
    assert await api.destination(seeded.acme, hook.destination_id) == hook


async def test_a_form_and_the_rest_api_give_the_same_email_destination(port: Any, seeded: Seeded) -> None:
    typed = {"smtp_host": "1.1.1.1", "smtp_port": 2525, "starttls": False, "username": "", "password": "pw",
             "sender": "cloud@acme.test", "to": ["a@acme.test", "b@acme.test"]}
    as_form = {"smtp_host": "1.1.1.1", "smtp_port": "2525", "starttls": "off", "username": "", "password": "pw",
               "sender": "cloud@acme.test", "to": "a@acme.test, b@acme.test", "url": "", "token": ""}
    api_made, _ = await port.create_destination(seeded.acme, "mail-api", "email", typed, OWNER)
    form_made, _ = await port.create_destination(seeded.acme, "mail-form", "email", as_form, OWNER)
    expected = {"smtp_host": "1.1.1.1", "smtp_port": 2525, "starttls": False, "username": "",
                "sender": "cloud@acme.test", "to": ["a@acme.test", "b@acme.test"]}
    assert api_made.config == form_made.config == expected  # the password is sealed, never shown


async def test_the_actor_and_address_of_a_change_reach_the_audit_log_and_the_event(
        port: Any, seeded: Seeded, database: Database) -> None:
    someone = Actor(ActorType.API_KEY, "key-1", "ci-bot", "192.0.2.44")
    made, _ = await port.create_destination(seeded.acme, "ci", "webhook", {"url": "https://1.1.1.1/ci"}, someone)
    kind, value = await last_event(database)
    assert kind == "DestinationCreated"
    event = events_pb2.DestinationCreated.FromString(value)
    assert (event.org_id, event.destination_id, event.name) == (seeded.acme, made.destination_id, "ci")
    assert (event.actor.type, event.actor.id, event.actor.label) == ("api_key", "key-1", "ci-bot")
    entries = await PlatformAuditLog(database).entries(seeded.acme)
    last = entries[-1]
    assert (last.action, last.actor, last.target.id) == ("org:integration:create", someone, made.destination_id)
    assert made.created_by == "ci-bot"


async def test_refusals_say_what_to_change_with_their_code(port: Any, seeded: Seeded) -> None:
    acme, hook, pd = seeded.acme, seeded.hook.destination_id, seeded.pd.destination_id
    cases: list[tuple[Any, str, str]] = [
        (port.create_destination(acme, "inside", "webhook", {"url": "https://127.0.0.1:9/x"}, OWNER),
         "invalid", "loopback"),
        (port.create_destination(acme, "meta", "slack_webhook", {"url": "https://169.254.169.254/latest"}, OWNER),
         "invalid", "cloud metadata address"),
        (port.create_destination(acme, "x", "carrier-pigeon", {}, OWNER), "invalid", "unknown destination kind"),
        (port.create_destination(acme, "   ", "webhook", {"url": "https://1.1.1.1/"}, OWNER), "invalid",
         "give the destination a name"),
        (port.create_destination(acme, "oncall", "pagerduty", {"routing_key": ROUTING_KEY}, OWNER), "conflict",
         "a destination named 'oncall' exists already"),
        (port.create_destination(acme, "pd2", "pagerduty", {"routing_key": "short"}, OWNER), "invalid",
         "32 letters and digits"),
        (port.delete_destination(acme, pd, OWNER), "conflict", "oncall is used by routing rules"),
        (port.rotate_secret(acme, pd, 60, OWNER), "invalid", "only webhook destinations have a signing secret"),
        (port.rotate_secret(acme, hook, -1, OWNER), "invalid", "the overlap is 0 to 604800 seconds"),
        (port.put_rule(acme, "", "", [{"after_minutes": 5, "destinations": [hook]}], OWNER), "invalid",
         "the first step notifies at once"),
        (port.put_rule(acme, "", "", [{"after_minutes": "soon", "destinations": [hook]}], OWNER), "invalid",
         "step 1 needs after_minutes (a whole number)"),
        (port.put_rule(acme, "", "", [{"destinations": [hook]}], OWNER), "invalid",
         "step 1 needs after_minutes (a whole number)"),
        (port.put_rule(acme, "", "", [], OWNER), "invalid", "a rule needs at least one step"),
        (port.put_rule(acme, "", "", [{"after_minutes": 0, "destinations": [hook]}], OWNER, subject="weather"),
         "invalid", "a rule routes approvals, chain_integrity or emergency_commands, not 'weather'"),
        (port.put_rule(acme, "", "", [{"after_minutes": 0, "destinations": [hook]},
                                      {"after_minutes": 5, "destinations": [pd]}], OWNER, subject="chain_integrity"),
         "invalid", "a chain-integrity rule has one step"),
        (port.deliveries(acme, limit=0), "invalid", "ask for 1 to 1000 deliveries, not 0"),
    ]
    for call, code, says in cases:
        exc = await refusal(call)
        assert isinstance(exc, ValueError) and getattr(exc, "code", "") == code, (says, exc)
        assert says in str(exc), (says, str(exc))
    assert [d.name for d in await port.destinations(acme)] == ["oncall", "payments-hook"]  # nothing half-made


async def test_rotating_a_webhooks_secret_returns_the_new_one_once(port: Any, seeded: Seeded,
                                                                   database: Database) -> None:
    found, secret = await port.rotate_secret(seeded.acme, seeded.hook.destination_id, 3600, OWNER)
    assert found == seeded.hook and secret.startswith("whsec_")
    again, other = await port.rotate_secret(seeded.acme, seeded.hook.destination_id, 0, OWNER)
    assert again == seeded.hook and other.startswith("whsec_") and other != secret
    last = (await PlatformAuditLog(database).entries(seeded.acme))[-1]
    assert (last.action, last.details, last.actor.ip) == ("org:integration:rotate_secret",
                                                          {"name": "payments-hook", "overlap_s": 0}, OWNER.ip)


async def test_deleting_a_destination_returns_it_and_it_is_gone(port: Any, seeded: Seeded) -> None:
    spare, _ = await port.create_destination(seeded.acme, "spare", "webhook", {"url": "https://1.1.1.1/s"}, OWNER)
    gone = await port.delete_destination(seeded.acme, spare.destination_id, OWNER)
    assert gone == spare
    with pytest.raises(LookupError):
        await port.destination(seeded.acme, spare.destination_id)


async def test_a_test_send_is_queued_and_shows_in_the_delivery_history(port: Any, api: NotificationsApi,
                                                                       seeded: Seeded) -> None:
    reference = await port.test_destination(seeded.acme, seeded.pd.destination_id, OWNER)
    assert reference.startswith("test-") and reference != seeded.test_ref
    history = await port.deliveries(seeded.acme)
    assert history == await api.deliveries(seeded.acme)
    assert [(d.destination_name, d.event, d.defer_token, d.state, d.attempts, d.last_status, d.delivered_at)
            for d in history] == [("oncall", "notification.test", reference, "pending", 0, None, None),
                                  ("payments-hook", "notification.test", seeded.test_ref, "pending", 0, None, None)]
    assert history[0].created_at.tzinfo is not None
    assert await port.deliveries(seeded.acme, limit=1) == history[:1]
    assert await port.deliveries(seeded.acme, stack_id=seeded.pay) == []  # tests are about no stack
    assert await port.deliveries(seeded.acme, stack_id="") == history
    assert [d.destination_name for d in await port.deliveries(seeded.beta)] == []


async def test_rules_are_listed_per_organisation_or_per_stack(port: Any, api: NotificationsApi,
                                                              seeded: Seeded) -> None:
    every = await port.rules(seeded.acme)
    assert every == await api.rules(seeded.acme)
    assert every == [seeded.org_rule, seeded.pay_rule, seeded.chain_rule]  # by subject, stack, agent
    pay_rule = every[1]
    assert (pay_rule.scope, pay_rule.subject, [(s.after_minutes, s.destinations) for s in pay_rule.steps]) == (
        "stack", Subject.APPROVALS, [(0, (seeded.hook.destination_id,)),
                                     (15, (seeded.pd.destination_id, seeded.hook.destination_id))])
    assert pay_rule.updated_at is not None and pay_rule.updated_at.tzinfo is not None
    assert await port.rules(seeded.acme, stack_id=seeded.pay) == every
    assert await port.rules(seeded.acme, stack_id=seeded.search) == [seeded.org_rule, seeded.chain_rule]
    assert await port.rules(seeded.acme, stack_id="") == [seeded.org_rule, seeded.chain_rule]
    assert await port.rule(seeded.acme, seeded.pay_rule.rule_id) == seeded.pay_rule


async def test_setting_a_scopes_rule_replaces_it_and_deleting_returns_it(port: Any, seeded: Seeded) -> None:
    # As a form sends them: minutes as text, a destination twice (kept once).
    replaced = await port.put_rule(seeded.acme, seeded.pay, "", [
        {"after_minutes": "0", "destinations": [seeded.pd.destination_id, seeded.pd.destination_id]},
        {"after_minutes": "30", "destinations": [seeded.hook.destination_id]}], OWNER)
    assert replaced.rule_id == seeded.pay_rule.rule_id
    assert [(s.after_minutes, s.destinations) for s in replaced.steps] == [
        (0, (seeded.pd.destination_id,)), (30, (seeded.hook.destination_id,))]
    agent = await port.put_rule(seeded.acme, seeded.pay, " refund-bot ", [
        {"after_minutes": 0, "destinations": [seeded.hook.destination_id]}], OWNER)
    assert (agent.scope, agent.agent_id, agent.stack_id) == ("stack and agent", "refund-bot", seeded.pay)
    assert agent.rule_id not in {r.rule_id for r in (seeded.org_rule, seeded.pay_rule, seeded.chain_rule)}
    gone = await port.delete_rule(seeded.acme, agent.rule_id, OWNER)
    assert gone == agent
    with pytest.raises(LookupError, match="no routing rule"):
        await port.rule(seeded.acme, agent.rule_id)


async def test_another_organisations_rules_and_destinations_are_out_of_reach(port: Any, seeded: Seeded) -> None:
    assert [r.rule_id for r in await port.rules(seeded.beta)] == [seeded.beta_rule.rule_id]
    assert [d.name for d in await port.destinations(seeded.beta)] == ["beta-hook"]
    for call in (port.rule(seeded.acme, seeded.beta_rule.rule_id),
                 port.delete_rule(seeded.acme, seeded.beta_rule.rule_id, OWNER),
                 port.rule(seeded.beta, seeded.org_rule.rule_id)):
        exc = await refusal(call)
        assert type(exc) is LookupError and "no routing rule" in str(exc)
    # A rule naming another organisation's destination is refused as an unknown one.
    exc = await refusal(port.put_rule(seeded.acme, "", "agent-x", [
        {"after_minutes": 0, "destinations": [seeded.beta_hook.destination_id]}], OWNER))
    assert isinstance(exc, ValueError) and f"no destination {seeded.beta_hook.destination_id!r}" in str(exc)
    assert await port.rules(seeded.beta) == [seeded.beta_rule]
    assert await port.destinations(seeded.beta) == [seeded.beta_hook]
    assert seeded.beta_hook.destination_id not in {d.destination_id for d in await port.deliveries(seeded.acme)}


async def test_an_org_id_that_is_not_an_organisation_id_is_refused(port: Any, seeded: Seeded) -> None:
    for call in (port.destinations("acme"), port.rules("acme"), port.deliveries("acme"),
                 port.create_destination("acme", "x", "webhook", {"url": "https://1.1.1.1/"}, OWNER)):
        exc = await refusal(call)
        assert isinstance(exc, ValueError) and "'acme'" in str(exc) and "UUID" in str(exc), exc


async def test_changes_while_the_service_rebuilds_are_busy_with_a_time_to_retry(
        port: Any, seeded: Seeded, database: Database) -> None:
    async with database.transaction() as conn:
        await conn.execute("INSERT INTO notification_catch_up (catching_up) VALUES (true)")
    for call in (port.create_destination(seeded.acme, "later", "webhook", {"url": "https://1.1.1.1/l"}, OWNER),
                 port.delete_rule(seeded.acme, seeded.pay_rule.rule_id, OWNER),
                 port.test_destination(seeded.acme, seeded.hook.destination_id, OWNER),
                 port.put_rule(seeded.acme, "", "", [{"after_minutes": 0,
                                                      "destinations": [seeded.hook.destination_id]}], OWNER)):
        exc = await refusal(call)
        assert isinstance(exc, ServiceBusy) and not isinstance(exc, ValueError), exc
        assert (exc.service, exc.retry_after_s) == ("notifications", 30)
        assert "rebuilding its routing and delivery history" in str(exc) and exc.public == str(exc)
    # Reads still answer, from what is there.
    assert [r.rule_id for r in await port.rules(seeded.acme)][1] == seeded.pay_rule.rule_id
    assert [d.name for d in await port.destinations(seeded.acme)] == ["oncall", "payments-hook"]


async def test_slack_calls_use_only_the_organisations_own_workspace_in_both_adapters(
        database: Database, stacks: StackStore, internal_tls: ServiceTls) -> None:
    """``slack_call`` (approving from Slack): Slack's answer comes back as it came; another
    organisation's workspace is not found; a method Cloud does not call is refused; the bot
    token is never in an answer."""
    import secrets

    from faramesh_cloud.egress.http import PinnedHttp
    from faramesh_cloud.egress.ssrf import system_resolver
    from faramesh_cloud.notifications.destinations import SecretBox
    from faramesh_cloud.notifications.slack_calls import SlackCalls
    from faramesh_cloud.notifications.store import RoutingStore
    from tests.fakes.slack import fake_slack

    box = SecretBox(secrets.token_bytes(32))
    http = PinnedHttp(allow_private=True)
    with fake_slack() as slack:
        api = NotificationsApi(database, RoutingStore(database, box, PlatformAuditLog(database)), allow_private=True,
                               resolver=system_resolver, clock=lambda: datetime.now(UTC),
                               slack=SlackCalls(database, box, http, slack.base))
        acme = (await stacks.create_org("acme", "Acme")).org_id
        beta = (await stacks.create_org("beta", "Beta")).org_id
        slack.tokens[BOT_TOKEN] = slack.team_id
        slack.add_user("U0ALICE", "alice@acme.test")
        await api.create_destination(acme, "acme-slack", "slack_app", {
            "token": BOT_TOKEN, "channel": "C1", "team_id": slack.team_id, "team_name": "Acme"}, OWNER)
        answers = []
        for kind in ADAPTERS:
            async with notifications_adapter(kind, api, internal_tls) as port:
                answers.append(await port.slack_call(acme, slack.team_id, "users.info", {"user": "U0ALICE"}))
                answers.append(await port.slack_call(acme, slack.team_id, "users.info", {"user": "U0NOBODY"}))
                with pytest.raises(LookupError, match="no Slack workspace"):
                    await port.slack_call(beta, slack.team_id, "users.info", {"user": "U0ALICE"})
                with pytest.raises(ValueError, match="not one Cloud calls") as refused:
                    await port.slack_call(acme, slack.team_id, "admin.users.remove", {"user": "U0ALICE"})
                assert refused.value.code == "invalid"  # type: ignore[attr-defined]
        await http.close()
    assert answers[0] == answers[2] and answers[0]["user"]["profile"]["email"] == "alice@acme.test"
    assert answers[1] == answers[3] == {"ok": False, "error": "user_not_found"}
    assert all(c.token == BOT_TOKEN for c in slack.on("users.info")) and len(slack.on("users.info")) == 4
    assert BOT_TOKEN not in repr(answers)

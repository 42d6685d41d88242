"""Slack by OAuth v2 and approving from Slack, end to end: a local fake of Slack (OAuth and
Web API, ``tests/fakes/slack.py``) → the gateway (install, interaction endpoint) → the
notifications service (sealed bot token, chat.postMessage with buttons, the Web API calls)
→ the approvals service → the daemon's poll. Real PostgreSQL and the PostgreSQL log.

The security property is tested both ways: an Operator mapped by confirmed email decides
(as that member, "via Slack", in the platform audit log); a Viewer, an unmapped Slack user,
an unconfirmed email, another workspace, a forged modal submission, a stale timestamp and a
wrong signature decide nothing. The notifications port runs over both adapters (in process
and gRPC over mutual TLS), so the ``SlackCall`` RPC is covered too."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI

from faramesh_cloud.approvals.service import Approvals
from faramesh_cloud.cli.main import cli
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.approvals_ports import mount_approvals
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.notifications_ports import mount_notifications
from faramesh_cloud.gateway.web.routes_slack import mount_slack
from faramesh_cloud.gateway.web.slack_app import SlackApp, reason_modal
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.notifications.outbox import OutboxConfig
from faramesh_cloud.notifications.senders import Endpoints
from faramesh_cloud.notifications.service import Notifications, NotificationsConfig
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.approvals_support import pending_event, push_events
from tests.fakes.slack import (
    CLIENT_ID,
    CLIENT_SECRET,
    SIGNING_SECRET,
    FakeSlack,
    fake_slack,
    interaction_body,
    sign,
)
from tests.fixtures.gateway import csrf_of, serve_app, sign_in, static_status
from tests.fixtures.identity import People, Person
from tests.fixtures.internal_tls import ServiceTls
from tests.notifications_adapters import ADAPTERS, notifications_adapter
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

ACTOR = Actor.system("test")
CHANNEL = "C0APPROVALS"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture
async def approvals(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Approvals]:
    service = Approvals(database, postgres_log)
    await service.start()
    await service.caught_up()
    yield service
    await service.stop()


@pytest.fixture
async def notifications(database: Database, postgres_log: PostgresLog, slack: FakeSlack) -> AsyncIterator[Notifications]:
    service = Notifications(database, postgres_log, NotificationsConfig(
        key=secrets.token_bytes(32), allow_private=True, link_base="https://cloud.example.test",
        endpoints=Endpoints(slack_api=slack.base), send_interval_s=0.05, escalation_interval_s=3600,
        outbox=OutboxConfig(retry_initial_s=0, retry_max_s=0, max_attempts=2)))
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(params=ADAPTERS)
async def app(request: pytest.FixtureRequest, web_deps: WebDeps, approvals: Approvals, notifications: Notifications,
              internal_tls: ServiceTls, slack: FakeSlack) -> AsyncIterator[FastAPI]:
    async with notifications_adapter(request.param, notifications.api, internal_tls) as port:
        app = create_app(static_status, web=web_deps)
        mount_approvals(app, approvals.api)
        mount_notifications(app, port)
        mount_slack(app, SlackApp(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, signing_secret=SIGNING_SECRET,
                                  api_base=slack.base, allow_private=True))
        yield app


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[Any]:
    made: list[httpx.AsyncClient] = []

    async def make(person: Person | None = None) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4711)),
                                   base_url="http://testserver")
        made.append(client)
        if person is not None:
            response = await sign_in(client, person.email, person.password)
            assert response.status_code in (302, 303), response.text[:300]
        return client

    yield make
    for client in made:
        await client.aclose()


async def connect(client: httpx.AsyncClient, name: str = "approvals-slack") -> httpx.Response:
    """The owner's install: our form → Slack's consent (the fake's) → our callback."""
    page = await client.get("/o/acme/settings/integrations/slack")
    assert page.status_code == 200, page.text[:300]
    started = await client.post("/o/acme/settings/integrations/slack/connect",
                                data={"name": name, "channel": CHANNEL, "csrf_token": csrf_of(page.text)})
    assert started.status_code == 303, started.text[:300]
    async with httpx.AsyncClient() as browser:  # the person's browser at Slack
        consent = await browser.get(started.headers["location"])
    assert consent.status_code == 302
    back = consent.headers["location"].removeprefix("http://testserver")
    return await client.get(back)


@pytest.fixture
async def world(people: People, stacks: StackStore, clients: Any, slack: FakeSlack, notifications: Notifications,
                postgres_log: PostgresLog) -> dict[str, Any]:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    owner_client = await clients(owner)
    done = await connect(owner_client)
    assert done.status_code == 303 and "connected" in done.headers["location"], done.text[:500]
    [workspace] = [d for d in await notifications.api.destinations(owner.org.org_id) if d.kind.value == "slack_app"]
    await notifications.api.put_rule(owner.org.org_id, "", "", [
        {"after_minutes": 0, "destinations": [workspace.destination_id]}], ACTOR)
    await push_events(postgres_log, owner.org.org_id, stack.stack_id, [
        pending_event("tok-slack-1", deadline=datetime.now(UTC) + timedelta(hours=1))])
    await eventually(lambda: len(slack.on("chat.postMessage")) == 1, "the approval posted to Slack", within_s=30)
    [message] = list(slack.messages)
    return {"owner": owner, "owner_client": owner_client, "stack": stack, "workspace": workspace, "message": message}


async def interact(clients: Any, payload: dict[str, Any], *, timestamp: int | None = None,
                   secret: str = SIGNING_SECRET) -> httpx.Response:
    body = interaction_body(payload)
    anonymous = await clients()  # Slack has no Cloud session
    return await anonymous.post("/integrations/slack/interactions", content=body,
                                headers=sign(body, timestamp, secret))


async def pending(approvals: Approvals, org_id: str) -> list[str]:
    return [a.defer_token for a in await approvals.api.pending(org_id)]


async def test_an_operator_approves_from_slack_as_themselves_and_the_daemon_gets_the_decision(
        world: dict[str, Any], clients: Any, slack: FakeSlack, people: People, approvals: Approvals,
        database: Database) -> None:
    owner: Person = world["owner"]
    org_id, stack_id = owner.org.org_id, world["stack"].stack_id
    await eventually(lambda: pending(approvals, org_id), "the approval projected", within_s=30)

    # The install: the token is sealed, never shown; the message carries the two buttons.
    [exchange] = slack.on("oauth.v2.access")
    assert exchange.args["client_id"] == CLIENT_ID and exchange.args["redirect_uri"].endswith(
        "/integrations/slack/oauth/callback")
    token = next(iter(slack.tokens))
    page = await world["owner_client"].get("/o/acme/settings/integrations/slack")
    assert "Acme Payments" in page.text and CHANNEL in page.text and token not in page.text
    listed = await world["owner_client"].get("/api/v1/orgs/acme/notifications/destinations")
    assert "xoxb-" not in listed.text and "slack_app" in listed.text
    [posted] = slack.on("chat.postMessage")
    assert posted.token == token and posted.args["channel"] == CHANNEL
    buttons = next(b for b in posted.args["blocks"] if b.get("block_id") == "faramesh_decision")["elements"]
    assert [b["action_id"] for b in buttons] == ["faramesh_approve", "faramesh_deny"]
    assert json.loads(buttons[0]["value"]) == {"org": org_id, "stack": stack_id, "token": "tok-slack-1"}

    operator = await people.member(owner, Role.OPERATOR)
    slack.add_user("U0OPERATOR", operator.email)
    pressed = await interact(clients, slack.block_actions("U0OPERATOR", world["message"], "faramesh_approve"))
    assert pressed.status_code == 200 and not slack.on("chat.postEphemeral")
    [opened] = slack.on("views.open")
    assert [c.args["user"] for c in slack.on("users.info")] == ["U0OPERATOR"]
    view = opened.args["view"]
    assert view["callback_id"] == "faramesh_decide" and view["submit"]["text"] == "Approve"

    empty = await interact(clients, slack.view_submission("U0OPERATOR", view, "  "))
    assert empty.json() == {"response_action": "errors", "errors": {"reason": "a reason is required"}}
    assert await pending(approvals, org_id) == ["tok-slack-1"]

    late_press = slack.block_actions("U0OPERATOR", world["message"], "faramesh_approve")  # a second click, sent late
    submitted = await interact(clients, slack.view_submission("U0OPERATOR", view, "customer confirmed the refund"))
    assert submitted.status_code == 200 and submitted.content == b""  # closes the modal
    assert await pending(approvals, org_id) == []
    deliveries, _ = await approvals.control.poll_decisions(org_id, stack_id, 10)  # the daemon's poll
    assert len(deliveries) == 1
    [decided] = await approvals.api.history(org_id)
    assert decided.defer_token == "tok-slack-1" and decided.state == "approved"
    [update] = slack.on("chat.update")
    assert update.args["text"] == f"Approved by {operator.email} via Slack: customer confirmed the refund"
    assert not any(b.get("type") == "actions" for b in slack.messages[world["message"]]["blocks"])
    entries = await PlatformAuditLog(database).entries(org_id)
    [entry] = [e for e in entries if e.action == "approvals:request:decide"]
    assert entry.actor.label == f"{operator.email} via Slack" and entry.actor.id == operator.user.user_id

    # Pressed again after the decision: told in Slack, nothing changes.
    again = await interact(clients, late_press)
    assert again.status_code == 200 and "no longer pending" in slack.on("chat.postEphemeral")[0].args["text"]


async def test_a_viewer_an_unmapped_user_and_an_unconfirmed_email_are_refused_in_slack(
        world: dict[str, Any], clients: Any, slack: FakeSlack, people: People, approvals: Approvals,
        database: Database) -> None:
    owner: Person = world["owner"]
    org_id = owner.org.org_id
    await eventually(lambda: pending(approvals, org_id), "the approval projected", within_s=30)
    viewer = await people.member(owner, Role.VIEWER)
    operator = await people.member(owner, Role.OPERATOR)
    slack.add_user("U0VIEWER", viewer.email)
    slack.add_user("U0STRANGER", "stranger@elsewhere.test")
    slack.add_user("U0UNCONFIRMED", operator.email, confirmed=False)
    # An Operator of the organisation whose role on this stack is overridden down to Viewer.
    restricted = await people.member(owner, Role.OPERATOR)
    await people.identity.members.set_stack_role(org_id, restricted.user.user_id, world["stack"].stack_id,
                                                  StackRole.VIEWER, await people.principal(owner))
    slack.add_user("U0RESTRICTED", restricted.email)
    cases = {"U0VIEWER": "your Faramesh Cloud role (Viewer) does not include approvals:request:decide",
             "U0STRANGER": "no member of this Faramesh Cloud organisation has the email stranger@elsewhere.test",
             "U0UNCONFIRMED": f"your Slack email {operator.email} is not confirmed",
             "U0RESTRICTED": "does not include approvals:request:decide on this stack"}
    for user, why in cases.items():
        answer = await interact(clients, slack.block_actions(user, world["message"], "faramesh_deny"))
        assert answer.status_code == 200
        told = slack.on("chat.postEphemeral")[-1].args
        assert told["user"] == user and told["channel"] == CHANNEL and why in told["text"], told
    assert not slack.on("views.open")

    # A modal submission is checked again on its own (nothing carried over from the button):
    # the viewer submitting a reason form gets the refusal on the form and decides nothing.
    stack_id = world["stack"].stack_id
    view = reason_modal("approve", "payments-bot wants stripe/refund", {
        "org": org_id, "stack": stack_id, "token": "tok-slack-1", "verdict": "approve", "channel": CHANNEL,
        "ts": world["message"][1], "title": "x"})
    forged = await interact(clients, slack.view_submission("U0VIEWER", view, "let me through"))
    assert forged.json()["response_action"] == "errors"
    assert "role (Viewer)" in forged.json()["errors"]["reason"]
    assert await pending(approvals, org_id) == ["tok-slack-1"]
    assert not slack.on("chat.update")

    # Every refused attempt is in the platform audit log, naming who tried (the member, or the
    # Slack user with the email Slack gave) and why.
    refused = [e for e in await PlatformAuditLog(database).entries(org_id)
               if e.action == "approvals:request:decide" and "refused" in e.details]
    assert [e.details["slack_user_id"] for e in refused] == [
        "U0VIEWER", "U0STRANGER", "U0UNCONFIRMED", "U0RESTRICTED", "U0VIEWER"]
    assert {e.details["via"] for e in refused} == {"slack"}
    assert refused[0].actor.label == f"{viewer.email} via Slack" and refused[3].actor.label == f"{restricted.email} via Slack"
    assert refused[1].actor.type.value == "anonymous" and "stranger@elsewhere.test" in refused[1].actor.label
    assert not [e for e in await PlatformAuditLog(database).entries(org_id)
                if e.action == "approvals:request:decide" and "refused" not in e.details]


async def test_requests_not_from_slack_or_stale_or_from_another_workspace_do_nothing(
        world: dict[str, Any], clients: Any, slack: FakeSlack, people: People, approvals: Approvals) -> None:
    owner: Person = world["owner"]
    org_id = owner.org.org_id
    await eventually(lambda: pending(approvals, org_id), "the approval projected", within_s=30)
    operator = await people.member(owner, Role.OPERATOR)
    slack.add_user("U0OPERATOR", operator.email)
    payload = slack.block_actions("U0OPERATOR", world["message"], "faramesh_approve")

    stale = await interact(clients, payload, timestamp=int(time.time()) - 6 * 60)
    assert stale.status_code == 401 and "stale request" in stale.text
    wrong = await interact(clients, payload, secret="not-the-signing-secret")
    assert wrong.status_code == 401 and "does not match" in wrong.text
    unsigned = await (await clients()).post("/integrations/slack/interactions", content=interaction_body(payload),
                                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401
    other = json.loads(json.dumps(payload))
    other["team"]["id"] = "T0OTHERTEAM"
    foreign = await interact(clients, other)
    assert foreign.status_code == 403 and "not connected" in foreign.text
    malformed = json.loads(json.dumps(payload))
    malformed["actions"][0]["value"] = json.dumps({"org": "acme", "stack": "s", "token": "t"})
    assert (await interact(clients, malformed)).status_code == 400
    assert not slack.on("users.info") and not slack.on("views.open")
    assert await pending(approvals, org_id) == ["tok-slack-1"]


async def test_the_install_needs_the_state_of_this_session(
        world: dict[str, Any], clients: Any, slack: FakeSlack, people: People) -> None:
    owner: Person = world["owner"]
    page = await world["owner_client"].get("/o/acme/settings/integrations/slack")
    started = await world["owner_client"].post("/o/acme/settings/integrations/slack/connect", data={
        "name": "second", "channel": "C0SECOND", "csrf_token": csrf_of(page.text)})
    async with httpx.AsyncClient() as browser:
        consent = await browser.get(started.headers["location"])
    callback = consent.headers["location"].removeprefix("http://testserver")
    # Another signed-in member (even an owner-level one) cannot finish someone else's install.
    admin = await people.member(owner, Role.ADMIN)
    hijack = await (await clients(admin)).get(callback)
    assert hijack.status_code == 400 and "not started in this session" in hijack.text
    tampered = await world["owner_client"].get(callback.replace("state=", "state=x"))
    assert tampered.status_code == 400
    exchanges = len(slack.on("oauth.v2.access"))
    assert exchanges == 1  # only the world's own install reached oauth.v2.access
    # A Viewer cannot start one.
    viewer = await people.member(owner, Role.VIEWER)
    assert (await (await clients(viewer)).get("/o/acme/settings/integrations/slack")).status_code == 403


async def test_a_refused_or_failed_install_creates_nothing_and_says_why(
        world: dict[str, Any], slack: FakeSlack, notifications: Notifications) -> None:
    owner: Person = world["owner"]
    client = world["owner_client"]
    before = await notifications.api.destinations(owner.org.org_id)

    async def consent() -> str:
        page = await client.get("/o/acme/settings/integrations/slack")
        started = await client.post("/o/acme/settings/integrations/slack/connect", data={
            "name": "another", "channel": "C0OTHER", "csrf_token": csrf_of(page.text)})
        async with httpx.AsyncClient() as browser:
            return str((await browser.get(started.headers["location"])).headers["location"]).removeprefix(
                "http://testserver")

    slack.deny_install = True  # the person pressed Cancel on Slack's screen
    denied = await client.get(await consent())
    assert denied.status_code == 400 and "Slack did not install the app: access_denied" in denied.text
    slack.deny_install = False
    callback = await consent()
    code = callback.split("code=")[1].split("&")[0]
    bad_code = await client.get(callback.replace(code, "0000.not-a-code"))
    assert bad_code.status_code == 400 and "Slack refused the install (invalid_code)" in bad_code.text
    assert (await client.get(callback)).status_code == 400  # the state went with the failed attempt
    assert await notifications.api.destinations(owner.org.org_id) == before


async def test_without_a_slack_app_the_page_says_how_to_configure_it(
        web_deps: WebDeps, notifications: Notifications, approvals: Approvals, people: People) -> None:
    app = create_app(static_status, web=web_deps)
    mount_approvals(app, approvals.api)
    mount_notifications(app, notifications.api)
    mount_slack(app, SlackApp())  # slack_client_id and the secrets empty
    owner = await people.org("acme")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await sign_in(client, owner.email, owner.password)
        page = await client.get("/o/acme/settings/integrations/slack")
        assert page.status_code == 200 and "FARAMESH_CLOUD_SLACK_CLIENT_ID" in page.text
        assert 'id="slack-connect"' not in page.text
        refused = await client.post("/o/acme/settings/integrations/slack/connect", data={
            "name": "x", "channel": "C1", "csrf_token": csrf_of(page.text)})
        assert refused.status_code == 400 and "not configured" in refused.text
        body = interaction_body({"type": "block_actions"})
        answer = await client.post("/integrations/slack/interactions", content=body, headers=sign(body))
        assert answer.status_code == 404 and "not configured" in answer.text


async def run_cli(*args: str, key: str) -> Result:
    """The CLI in a worker thread (the gateway answers it from this loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key})


async def test_the_rest_api_and_the_cli_list_and_disconnect_workspaces_without_the_token(
        world: dict[str, Any], app: FastAPI, slack: FakeSlack, people: People, notifications: Notifications) -> None:
    owner: Person = world["owner"]
    org_id = owner.org.org_id
    keys = people.identity.api_keys
    _, admin_key = await keys.create(org_id, "ci", Role.ADMIN, await people.principal(owner))
    _, viewer_key = await keys.create(org_id, "dash", Role.VIEWER, await people.principal(owner))
    async with serve_app(app) as base:
        async with httpx.AsyncClient(base_url=base, headers={"authorization": f"Bearer {admin_key}"}) as api:
            found = (await api.get("/api/v1/orgs/acme/integrations/slack")).json()
        assert found["configured"] is True and found["interactions_url"].endswith("/integrations/slack/interactions")
        [workspace] = found["workspaces"]
        assert (workspace["name"], workspace["team_id"], workspace["team_name"], workspace["channel"]) == (
            "approvals-slack", slack.team_id, "Acme Payments", CHANNEL)
        assert "xoxb-" not in json.dumps(found)

        status = await run_cli("slack", "status", "--url", base, key=admin_key)
        assert status.exit_code == 0, status.output
        assert "Slack app: configured" in status.output and "approvals-slack\tAcme Payments" in status.output
        viewer = await run_cli("slack", "status", "--url", base, key=viewer_key)
        assert viewer.exit_code == 1 and "403" in viewer.output
        unknown = await run_cli("slack", "disconnect", "nope", "--url", base, key=admin_key)
        assert unknown.exit_code == 2 and "no connected Slack workspace named 'nope'" in unknown.output
        in_use = await run_cli("slack", "disconnect", "approvals-slack", "--url", base, key=admin_key)
        assert in_use.exit_code == 2 and "used by routing rules" in in_use.output
        [rule] = await notifications.api.rules(org_id)
        await notifications.api.delete_rule(org_id, rule.rule_id, ACTOR)
        gone = await run_cli("slack", "disconnect", "approvals-slack", "--url", base, key=admin_key)
        assert gone.exit_code == 0 and "Disconnected approvals-slack (Acme Payments)" in gone.output
        assert "No workspace connected." in (await run_cli("slack", "status", "--url", base, key=admin_key)).output


async def test_slack_errors_are_reported_not_swallowed(
        world: dict[str, Any], clients: Any, slack: FakeSlack, people: People, approvals: Approvals,
        notifications: Notifications) -> None:
    owner: Person = world["owner"]
    org_id = owner.org.org_id
    await eventually(lambda: pending(approvals, org_id), "the approval projected", within_s=30)
    operator = await people.member(owner, Role.OPERATOR)
    slack.add_user("U0OPERATOR", operator.email)
    # A trigger Slack no longer accepts: the person is told to press again, nothing is decided.
    payload = slack.block_actions("U0OPERATOR", world["message"], "faramesh_deny")
    slack.triggers.clear()
    assert (await interact(clients, payload)).status_code == 200
    [told] = slack.on("chat.postEphemeral")
    assert "Slack did not open the reason form (invalid_trigger_id)" in told.args["text"]
    # The app uninstalled in Slack (token revoked): a send fails with Slack's error, not retried.
    slack.tokens.clear()
    reference = await notifications.api.test_destination(org_id, world["workspace"].destination_id, ACTOR)

    async def failed() -> bool:
        return any(d.defer_token == reference and d.state == "failed" for d in await notifications.api.deliveries(org_id))
    await eventually(failed, "the test send failed", within_s=30)
    [row] = [d for d in await notifications.api.deliveries(org_id) if d.defer_token == reference]
    assert row.last_error == "Slack error: invalid_auth" and row.attempts == 1
    assert await pending(approvals, org_id) == ["tok-slack-1"]

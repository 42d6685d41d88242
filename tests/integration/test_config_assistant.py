"""Settings → Config Assistant through the gateway: the page (form, server-side checks naming the
field, the snippet with its copy button and the "never pushed" statement), its REST twin
(`POST /api/v1/orgs/{org}/config-assistant/snippets`, 422 naming the field), who may use it,
and that generating writes nothing (no platform audit entry, nothing stored)."""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator

import httpx
import pytest
from click.testing import CliRunner, Result
from fastapi import FastAPI

from faramesh_cloud.cli.main import cli as main_cli
from faramesh_cloud.fpl.snippets import in_context
from faramesh_cloud.fpl.strict import parse_strict
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.gateway.web.fleet_ports import FleetPorts, FleetReads, mount_fleet
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import CLOUD_URL, csrf_of, serve_app, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People, Person

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
PAGE = "/o/acme/settings/config-assistant"
API = "/api/v1/orgs/acme/config-assistant"


@pytest.fixture
def assistant_app(web_deps: WebDeps, stacks: StackStore, fleet_reads: FleetReads) -> FastAPI:
    app = create_app(static_status, web=web_deps)
    mount_fleet(app, FleetPorts(query=fleet_reads, registry=stacks, cloud_url=CLOUD_URL))
    return app


def client(app: FastAPI, **kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver",
                             **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def browser(app: FastAPI, person: Person) -> AsyncIterator[httpx.AsyncClient]:
    async with client(app) as c:
        assert (await sign_in(c, person.email, PASSWORD)).status_code in (302, 303)
        yield c


async def test_the_form_makes_a_snippet_that_parses_and_says_it_is_never_pushed(
        assistant_app: FastAPI, people: People, audit_log: PlatformAuditLog) -> None:
    owner = await people.org("acme")
    async with browser(assistant_app, owner) as c:
        page = await c.get(PAGE + "?block=runtime")
        assert page.status_code == 200
        assert "Cloud never pushes it to a stack:" in page.text and "faramesh apply" in page.text
        assert f'value="{CLOUD_URL}"' in page.text  # this Cloud's sync URL is the starting value
        assert 'pattern="https:\\/\\/' in page.text and 'maxlength="300"' in page.text and "required" in page.text
        before = await audit_log.count(owner.org.org_id)

        made = await c.post(PAGE, data={"csrf_token": csrf_of(page.text), "block": "rule", "effect": "defer",
                                        "tool": "stripe/charge", "condition": "args.amount > 500",
                                        "notify": "#payments", "reason": "über 500 € braucht Freigabe"})
        assert made.status_code == 200
        text = html.unescape(made.text.split('<pre id="snippet">', 1)[1].split("</pre>", 1)[0])
        assert text == 'defer stripe/charge when args.amount > 500 notify: "#payments" reason: "über 500 € braucht Freigabe"'
        rule = parse_strict(in_context("rule", text)).agents[0].rules[0]
        assert (rule.effect, rule.tool, rule.condition, rule.reason) == (
            "defer", "stripe/charge", "args.amount > 500", "über 500 € braucht Freigabe")
        assert 'data-copy="snippet"' in made.text
        assert await audit_log.count(owner.org.org_id) == before  # generating changes nothing

        refused = await c.post(PAGE, data={"csrf_token": csrf_of(page.text), "block": "rule", "effect": "defer",
                                           "tool": "x", "condition": "amount > $500"})
        assert refused.status_code == 400
        assert 'role="alert"' in refused.text and "When (condition): no $ in a condition" in refused.text
        assert 'id="f-condition"' in refused.text and 'aria-invalid="true"' in refused.text
        assert 'value="amount &gt; $500"' in refused.text  # what was typed is kept for correcting
        assert '<pre id="snippet">' not in refused.text

        warned = await c.post(PAGE, data={"csrf_token": csrf_of(page.text), "block": "agent", "id": "support-bot",
                                          "default": "deny"})
        assert warned.status_code == 200 and 'id="snippet-warning-1"' in warned.text

        no_csrf = await c.post(PAGE, data={"block": "rule", "effect": "defer", "tool": "x"})
        assert no_csrf.status_code == 403


async def test_rest_twin_gives_the_text_or_422_naming_the_field(assistant_app: FastAPI, people: People) -> None:
    owner = await people.org("acme")
    _, key = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.ADMIN, await people.principal(owner))
    async with client(assistant_app, headers={"Authorization": f"Bearer {key}"}) as api:
        ok = await api.post(API + "/snippets", json={"block": "budget", "fields": {"max": "20", "daily": "50.50"}})
        assert ok.status_code == 200, ok.text
        body = ok.json()
        assert body["text"] == "budget session {\n  max $20\n  daily $50.50\n  on_exceed deny\n}"
        assert body["language"] == "fpl" and body["pushed"] is False and any("faramesh apply" in n for n in body["notes"])
        budget = parse_strict(in_context("budget", body["text"])).agents[0].budgets[0]
        assert (budget.max_usd, budget.daily_usd) == (20.0, 50.5)

        agent = (await api.post(API + "/snippets", json={"block": "agent", "fields": {"id": "support-bot"}})).json()
        assert agent["text"].startswith('agent "support-bot" {') and 'sorts after "default"' in agent["warnings"][0]

        hooks = await api.post(API + "/snippets", json={"block": "webhooks",
                                                        "fields": {"url": "https://h.example/x", "events": ["deny"]}})
        assert hooks.status_code == 200 and hooks.json()["language"] == "yaml"

        bad = await api.post(API + "/snippets", json={"block": "pack", "fields": {
            "kind": "policies", "name": "faramesh/stripe", "version": "latest"}})
        assert bad.status_code == 422
        assert bad.json()["detail"] == [{"loc": ["body", "fields", "version"],
                                         "msg": "pin a version: @latest is refused by the daemon",
                                         "type": "value_error"}]
        unknown = await api.post(API + "/snippets", json={"block": "webhook-ish", "fields": {}})
        assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "block"]

        blocks = await api.get(API + "/blocks")
        assert [b["block"] for b in blocks.json()] == ["runtime", "agent", "rule", "budget", "provider", "pack",
                                                      "trust", "webhooks"]

        document = (await api.get("/api/v1/openapi.json")).json()
        assert f"{API.replace('acme', '{org}')}/snippets" in document["paths"]


async def test_only_members_who_read_settings_may_use_it(assistant_app: FastAPI, people: People) -> None:
    owner = await people.org("acme")
    admin = await people.member(owner, Role.ADMIN)
    operator = await people.member(owner, Role.OPERATOR)
    async with browser(assistant_app, admin) as c:
        page = await c.get(PAGE)
        assert page.status_code == 200 and ">Config Assistant</a>" in page.text
    async with browser(assistant_app, operator) as c:
        assert (await c.get(PAGE)).status_code == 403
        assert (await c.post(API + "/snippets", json={"block": "agent", "fields": {"id": "a"}})).status_code == 403
    other = await people.org("globex")
    async with browser(assistant_app, other) as c:
        assert (await c.get(PAGE)).status_code in (403, 404)  # not a member of acme


async def cli(*args: str, key: str) -> Result:
    """The CLI in a worker thread (the gateway answers it from this loop)."""
    return await asyncio.to_thread(CliRunner().invoke, main_cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key})


async def test_cli_prints_the_snippet_or_names_the_refused_field(assistant_app: FastAPI, people: People) -> None:
    owner = await people.org("acme")
    principal = await people.principal(owner)
    _, admin = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.ADMIN, principal)
    _, operator = await people.identity.api_keys.create(owner.org.org_id, "ops", Role.OPERATOR, principal)
    async with serve_app(assistant_app) as url:
        made = await cli("snippet", "provider", "--url", url, "-f", "name=vault", "-f", "type=vault",
                         "-f", "setting1_key=token", "-f", "setting1_value=VAULT_TOKEN", "-f", "setting1_env=on",
                         key=admin)
        assert made.exit_code == 0, made.output
        assert made.stdout == 'provider "vault" {\n  type = "vault"\n  token = env("VAULT_TOKEN")\n}\n'
        assert "faramesh apply" in made.stderr
        fields = parse_strict(made.stdout).provider_fields["vault"]
        assert fields["token"].kind == "env" and fields["token"].text == "VAULT_TOKEN"

        hooks = await cli("snippet", "webhooks", "--url", url, "--org", "acme", "-f", "url=https://h.example/x",
                          "-f", "events=deny", "-f", "events=defer", key=admin)
        assert hooks.exit_code == 0 and 'events: ["deny", "defer"]' in hooks.stdout

        refused = await cli("snippet", "rule", "--url", url, "-f", "effect=defer", "-f", "tool=mcp:fs.write",
                            key=admin)
        assert refused.exit_code == 2
        assert refused.stderr.startswith("error: fields.tool: ") and "letter" in refused.stderr

        listed = await cli("snippet", "--list", "--url", url, key=admin)
        assert listed.exit_code == 0 and "budget: Budget" in listed.stdout and "  tool (required)" in listed.stdout

        denied = await cli("snippet", "agent", "--url", url, "-f", "id=a", key=operator)
        assert denied.exit_code == 1 and "403" in denied.stderr

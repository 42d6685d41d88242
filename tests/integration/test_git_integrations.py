"""Git providers end to end through the gateway (httpx over ASGI, real PostgreSQL), each against
a local fake of the provider's API (tests/fakes/git.py): connect with a token (sealed, never
returned), map a stack (the token must read the path, else a clear 400 and nothing stored),
drift against the main branch (scheduled and on demand; the diff on the Config tab, an item in
Home's attention panel), every change in the platform audit log, another organisation's
connections and stacks out of reach, Operators may check but not connect."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.events.topics import FLEET_EVENTS, H_KIND, H_STACK
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.service import FleetProjection, GitSettings
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fakes.git import FakeGit
from tests.fixtures.gateway import MakeClient
from tests.fixtures.identity import People
from tests.fixtures.ingest import read_topic
from tests.fleet_items import message, record, status
from tests.integration.test_fleet_api import signed_in
from tests.simulator_support import eventually

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

V1 = 'agent "pay" {\n  default deny\n  rule permit http.get\n}\n'
V2 = 'agent "pay" {\n  default deny\n  rule permit http.get\n  rule permit shell.ls\n}\n'
TOKEN = "s3cret-token-9f2a"
REPOS = {"github": "acme/gov", "gitlab": "acme/platform/gov", "bitbucket": "acme/gov", "azure_devops": "Platform/gov"}
COMMIT_PAGES = {"github": "{web}/{repo}/commit/{sha}", "gitlab": "{web}/{repo}/-/commit/{sha}",
                "bitbucket": "{web}/{repo}/commits/{sha}", "azure_devops": "{web}/Platform/_git/gov/commit/{sha}"}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(params=list(REPOS))
def fake(request: pytest.FixtureRequest) -> Iterator[FakeGit]:
    git = FakeGit(request.param, username="ops-bot" if request.param == "bitbucket" else "")
    git.start()
    git.commit(REPOS[request.param], "main", {"deploy/governance.fms": V1})
    git.grant(TOKEN)
    yield git
    git.stop()


async def api_csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}


async def audit_actions(database: Database, org_id: str) -> list[str]:
    async with database.connection() as conn:
        cur = await conn.execute("SELECT action FROM platform_audit_log WHERE org_id = %s AND action LIKE 'org:git:%%' "
                                 "ORDER BY seq", (org_id,))
        return [r[0] for r in await cur.fetchall()]


async def applied(database: Database, org_id: str, stack_id: str, commit: str, text: str, at: datetime) -> None:
    """The daemon reports applying ``text`` at ``commit`` (the next offset of the fleet's input)."""
    report = status(at, commit=commit, applied_at=at)
    report.applied_config.governance_fms, report.applied_config.governance_sha256 = text, sha(text)
    async with database.connection() as conn:
        cur = await conn.execute("SELECT coalesce(max(next_offset), 0) FROM fleet_positions")
        (offset,) = await cur.fetchone() or (0,)
    rec = record(org_id, stack_id, int(at.timestamp()), "stack_status", report)
    await FleetSink(database).write([FleetProcessor().process(message(rec, int(offset)))])  # type: ignore[list-item]


async def test_connect_map_and_drift_against_the_main_branch_for_each_provider(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database, fake: FakeGit) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    repo = REPOS[fake.provider]
    head = fake.repos[repo].branches["main"]
    await applied(database, org, pay.stack_id, head, V1, datetime.now(UTC) - timedelta(minutes=5))
    client = await signed_in(client_factory, acme)
    headers = await api_csrf(client)

    made = await client.post("/api/v1/orgs/acme/git/connections", headers=headers, json={
        "name": "gov", "provider": fake.provider, "base_url": fake.base_url, "token": TOKEN,
        "username": fake.username})
    assert made.status_code == 201, made.text
    connection = made.json()
    assert connection["token_hint"] == TOKEN[-4:] and TOKEN not in made.text
    listed = await client.get("/api/v1/orgs/acme/git/connections")
    assert TOKEN not in listed.text and [c["name"] for c in listed.json()] == ["gov"]
    assert TOKEN not in (await client.get("/o/acme/settings/integrations/git")).text
    async with database.connection() as conn:
        cur = await conn.execute("SELECT secret FROM fleet_git_connections WHERE org_id = %s", (org,))
        (sealed,) = await cur.fetchone() or (b"",)
    assert TOKEN.encode() not in bytes(sealed)

    # A token that cannot read the path: refused with the provider's answer, nothing stored.
    missing = await client.put(f"/api/v1/orgs/acme/git/mappings/{pay.stack_id}", headers=headers, json={
        "connection_id": connection["connection_id"], "repository": repo, "path": "nope/governance.fms",
        "branch": "main"})
    assert missing.status_code == 400 and "cannot read nope/governance.fms" in missing.json()["detail"]
    assert "HTTP 404" in missing.json()["detail"]
    assert (await client.get("/api/v1/orgs/acme/git/mappings")).json() == []

    mapped = await client.put(f"/api/v1/orgs/acme/git/mappings/{pay.stack_id}", headers=headers, json={
        "connection_id": connection["connection_id"], "repository": repo, "path": "deploy/governance.fms",
        "branch": "main"})
    assert mapped.status_code == 200, mapped.text
    same = (await client.get(f"/api/v1/orgs/acme/git/drift/{pay.stack_id}")).json()
    assert (same["status"], same["head_commit"], same["error"]) == ("same", head, "")

    # Commit links go to the provider's commit page (the daemon's remote says github.com/acme/gov).
    web = fake.base_url
    page_of = COMMIT_PAGES[fake.provider].format(web=web, repo=repo, sha=head)
    assert [s["commit_url"] for s in (await client.get("/api/v1/orgs/acme/fleet/stacks")).json()] == [page_of]
    assert [h["commit_url"] for h in (await client.get(
        f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/applies")).json()] == [page_of]
    for path in ("/o/acme/fleet", f"/o/acme/fleet/stacks/{pay.stack_id}/config",
                 f"/o/acme/fleet/stacks/{pay.stack_id}/applies"):
        assert f'href="{page_of}"' in (await client.get(path)).text, path

    # Someone merges a change nobody applied: a check now sees it, with the diff.
    newer = fake.commit(repo, "main", {"deploy/governance.fms": V2})
    checked = await client.post(f"/api/v1/orgs/acme/git/drift/{pay.stack_id}/check", headers=headers)
    body = checked.json()
    assert (body["status"], body["head_commit"], body["added"], body["removed"]) == ("differs", newer, 1, 0)
    assert "+  rule permit shell.ls" in body["diff"].split("\n")
    assert body["head_url"] == COMMIT_PAGES[fake.provider].format(web=web, repo=repo, sha=newer)

    config = (await client.get(f"/o/acme/fleet/stacks/{pay.stack_id}/config")).text
    assert 'data-kind="differs_from_git"' in config and 'id="git-diff"' in config
    assert '<span class="add">+  rule permit shell.ls</span>' in config
    attention = (await client.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
    assert [i["kind"] for i in attention if i["kind"] == "git_drift"] == ["git_drift"]
    assert "Differs from git" in (await client.get("/o/acme/")).text

    # The stack applies the merged text: no drift any more.
    await applied(database, org, pay.stack_id, newer, V2, datetime.now(UTC))
    assert (await client.get(f"/api/v1/orgs/acme/git/drift/{pay.stack_id}")).json()["status"] == "same"
    assert "git_drift" not in [i["kind"] for i in (await client.get("/api/v1/orgs/acme/fleet/attention")).json()[
        "items"]]
    assert await audit_actions(database, org) == ["org:git:connect", "org:git:map", "org:git:check"]


async def test_a_wrong_token_is_refused_at_mapping_and_a_revoked_one_shows_on_the_next_check(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    fake = FakeGit("github")
    fake.start()
    try:
        fake.commit("acme/gov", "main", {"governance.fms": V1})
        fake.grant(TOKEN)
        fake.grant("metadata-only", forbidden=True)
        client = await signed_in(client_factory, acme)
        headers = await api_csrf(client)
        ids = {}
        for name, token in (("good", TOKEN), ("bad", "not-a-token"), ("meta", "metadata-only")):
            ids[name] = (await client.post("/api/v1/orgs/acme/git/connections", headers=headers, json={
                "name": name, "provider": "github", "base_url": fake.base_url, "token": token})).json()["connection_id"]
        for name, words in (("bad", "refused the token"), ("meta", "HTTP 403")):
            refused = await client.put(f"/api/v1/orgs/acme/git/mappings/{pay.stack_id}", headers=headers, json={
                "connection_id": ids[name], "repository": "acme/gov"})
            assert refused.status_code == 400 and words in refused.json()["detail"], refused.text
        assert (await client.get("/api/v1/orgs/acme/git/mappings")).json() == []

        form = await client.post("/o/acme/settings/integrations/git/mappings", data={
            "csrf_token": headers["X-CSRF-Token"], "stack_id": pay.stack_id, "connection_id": ids["bad"],
            "repository": "acme/gov", "path": "governance.fms", "branch": "main"})
        assert form.status_code == 400 and "refused the token" in form.text and 'id="no-mappings"' in form.text

        assert (await client.put(f"/api/v1/orgs/acme/git/mappings/{pay.stack_id}", headers=headers, json={
            "connection_id": ids["good"], "repository": "acme/gov"})).status_code == 200
        del fake.grants[TOKEN]  # revoked at the provider
        state = (await client.post(f"/api/v1/orgs/acme/git/drift/{pay.stack_id}/check", headers=headers)).json()
        assert "refused the token" in state["error"] and state["head_commit"] == fake.repos["acme/gov"].branches["main"]
        assert "The last check failed" in (await client.get(f"/o/acme/fleet/stacks/{pay.stack_id}/config")).text
    finally:
        fake.stop()


async def test_bad_input_is_refused_with_the_reason(client_factory: MakeClient, people: People) -> None:
    acme = await people.org("acme")
    client = await signed_in(client_factory, acme)
    headers = await api_csrf(client)
    cases = [
        ({"name": "x", "provider": "azure_devops", "token": "t"}, "needs its base URL"),
        ({"name": "x", "provider": "github", "token": "t", "base_url": "ftp://example.com"}, "https://"),
        ({"name": "x", "provider": "github", "token": "t", "username": "me"}, "only with a Bitbucket app password"),
    ]
    for body, words in cases:
        answer = await client.post("/api/v1/orgs/acme/git/connections", headers=headers, json=body)
        assert answer.status_code == 400 and words in answer.json()["detail"], answer.text
    assert (await client.post("/api/v1/orgs/acme/git/connections", headers=headers, json={
        "name": "x", "provider": "svn", "token": "t"})).status_code == 422
    ok = {"name": "dup", "provider": "github", "token": "t", "base_url": "http://127.0.0.1:9"}
    assert (await client.post("/api/v1/orgs/acme/git/connections", headers=headers, json=ok)).status_code == 201
    assert (await client.post("/api/v1/orgs/acme/git/connections", headers=headers, json=ok)).status_code == 409
    [dup] = (await client.get("/api/v1/orgs/acme/git/connections")).json()
    assert (dup["name"], dup["token_hint"]) == ("dup", "")  # no hint of a short token


async def test_other_organisations_and_roles(client_factory: MakeClient, people: People, stacks: StackStore,
                                             database: Database) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    pay, _ = await stacks.register_stack(acme.org.org_id, "payments-prod", "production")
    theirs, _ = await stacks.register_stack(beta.org.org_id, "beta-stack", "production")
    fake = FakeGit("gitlab")
    fake.start()
    try:
        fake.commit("acme/gov", "main", {"governance.fms": V1})
        fake.grant(TOKEN)
        owner = await signed_in(client_factory, acme)
        headers = await api_csrf(owner)
        made = (await owner.post("/api/v1/orgs/acme/git/connections", headers=headers, json={
            "name": "gov", "provider": "gitlab", "base_url": fake.base_url, "token": TOKEN})).json()
        other = await signed_in(client_factory, beta)
        other_headers = await api_csrf(other)
        assert (await other.get("/api/v1/orgs/beta/git/connections")).json() == []
        # beta cannot use acme's connection, nor map acme's stack; acme cannot map beta's stack.
        assert (await other.put(f"/api/v1/orgs/beta/git/mappings/{theirs.stack_id}", headers=other_headers, json={
            "connection_id": made["connection_id"], "repository": "acme/gov"})).status_code == 404
        assert (await owner.put(f"/api/v1/orgs/acme/git/mappings/{theirs.stack_id}", headers=headers, json={
            "connection_id": made["connection_id"], "repository": "acme/gov"})).status_code == 404
        assert (await other.delete(f"/api/v1/orgs/beta/git/connections/{made['connection_id']}",
                                   headers=other_headers)).status_code == 404
        assert (await owner.put(f"/api/v1/orgs/acme/git/mappings/{pay.stack_id}", headers=headers, json={
            "connection_id": made["connection_id"], "repository": "acme/gov"})).status_code == 200

        operator = await signed_in(client_factory, await people.member(acme, Role.OPERATOR))
        op_headers = await api_csrf(operator)
        assert (await operator.post("/api/v1/orgs/acme/git/connections", headers=op_headers, json={
            "name": "mine", "provider": "github", "token": "t", "base_url": fake.base_url})).status_code == 403
        assert (await operator.get("/o/acme/settings/integrations/git")).status_code == 403
        assert (await operator.post(f"/api/v1/orgs/acme/git/drift/{pay.stack_id}/check",
                                    headers=op_headers)).status_code == 200
        viewer = await signed_in(client_factory, await people.member(acme, Role.VIEWER))
        assert (await viewer.post(f"/api/v1/orgs/acme/git/drift/{pay.stack_id}/check",
                                  headers=await api_csrf(viewer))).status_code == 403

        gone = await owner.delete(f"/api/v1/orgs/acme/git/connections/{made['connection_id']}", headers=headers)
        assert gone.status_code == 200 and (await owner.get("/api/v1/orgs/acme/git/mappings")).json() == []
        assert await audit_actions(database, acme.org.org_id) == ["org:git:connect", "org:git:map", "org:git:check",
                                                                  "org:git:disconnect"]
    finally:
        fake.stop()


async def test_the_fleet_service_checks_every_mapping_on_its_schedule(
        people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog) -> None:
    """The fleet projection with ``GitSettings`` (what ``up`` and ``serve fleet`` run): its drift
    sweep fetches each mapped branch every ``poll_interval_s`` without anyone asking."""
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    fake = FakeGit("azure_devops")
    fake.start()
    projection = FleetProjection(database, postgres_log, stacks, git=GitSettings(
        secrets.token_bytes(32), poll_interval_s=0.1, allow_private=True))
    try:
        first = fake.commit("Platform/gov", "main", {"governance.fms": V1})
        fake.grant(TOKEN)
        git = projection.git
        assert git is not None
        made = await git.connect(org, "ado", "azure_devops", fake.base_url, TOKEN, Actor.system("test"))
        await git.map_stack(org, pay.stack_id, made.connection_id, "Platform/gov", "governance.fms", "main",
                            Actor.system("test"))
        assert (await git.drift(org, pay.stack_id)).head_commit == first  # type: ignore[union-attr]
        second = fake.commit("Platform/gov", "main", {"governance.fms": V2})
        await projection.start()

        async def moved() -> bool:
            state = await git.drift(org, pay.stack_id)
            return state is not None and state.head_commit == second

        await eventually(moved, "the scheduled check to fetch the new head")

        async def relayed() -> bool:
            return len(await read_topic(postgres_log, FLEET_EVENTS)) >= 4

        await eventually(relayed, "the relay to append the scheduled check's event")
    finally:
        await projection.stop()
        fake.stop()
    assert await audit_actions(database, org) == ["org:git:connect", "org:git:map"]  # a scheduled check is no change
    # Every change and check is an event on fleet.events.v1, relayed from the fleet's outbox.
    kinds = [(r.headers[H_KIND].decode(), r.headers[H_STACK].decode())
             for r in await read_topic(postgres_log, FLEET_EVENTS)]
    assert kinds[:3] == [("GitConnected", ""), ("GitStackMapped", pay.stack_id), ("GitDriftChecked", pay.stack_id)]
    assert ("GitDriftChecked", pay.stack_id) in kinds[3:]  # the scheduled one
    assert all(TOKEN.encode() not in r.value for r in await read_topic(postgres_log, FLEET_EVENTS))


async def run_cli(*args: str, key: str = "", stdin: str = "") -> Result:
    """The CLI in a worker thread (the gateway answers it from this loop)."""
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), input=stdin,
                                   env={"FARAMESH_CLOUD_API_KEY": key})


async def test_the_cli_connects_maps_and_reports_drift_with_exit_codes(
        served: str, people: People, stacks: StackStore, database: Database) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod", "production")
    principal = await people.principal(acme)
    _, admin = await people.identity.api_keys.create(org, "ci", Role.ADMIN, principal)
    _, ops = await people.identity.api_keys.create(org, "ops", Role.OPERATOR, principal)
    fake = FakeGit("bitbucket", username="ops-bot")
    fake.start()
    try:
        head = fake.commit("acme/gov", "main", {"governance.fms": V1})
        fake.grant(TOKEN)
        await applied(database, org, pay.stack_id, head, V1, datetime.now(UTC))
        made = await run_cli("git", "connect", "bb", "--provider", "bitbucket", "--base-url", fake.base_url,
                             "--username", "ops-bot", "--url", served, key=admin, stdin=TOKEN + "\n")
        assert made.exit_code == 0 and "the token is sealed" in made.output and TOKEN not in made.output, made.output
        listed = await run_cli("git", "connections", "--url", served, key=admin)
        connection_id = listed.output.split()[0]
        assert listed.exit_code == 0 and f"token …{TOKEN[-4:]}" in listed.output and TOKEN not in listed.output
        refused = await run_cli("git", "map", pay.stack_id, "--connection", connection_id, "--repository",
                                "acme/nope", "--url", served, key=admin)
        assert refused.exit_code == 2 and "Repository not found" in refused.output, refused.output
        assert (await run_cli("git", "map", pay.stack_id, "--connection", connection_id, "--repository",
                              "acme/gov", "--url", served, key=admin)).exit_code == 0
        same = await run_cli("git", "drift", pay.stack_id, "--url", served, key=ops)
        assert same.exit_code == 0 and "same" in same.output, same.output
        fake.commit("acme/gov", "main", {"governance.fms": V2})
        differs = await run_cli("git", "drift", pay.stack_id, "--check", "--url", served, key=ops)
        assert differs.exit_code == 1 and "+  rule permit shell.ls" in differs.output, differs.output
        assert (await run_cli("git", "connect", "x", "--provider", "github", "--url", served, key=ops,
                              stdin="t")).exit_code == 1  # 403: an Operator may not connect
    finally:
        fake.stop()

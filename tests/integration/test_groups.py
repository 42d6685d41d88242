"""Groups of members (Settings → Members → Groups) end to end: the REST API with role-scoped
API keys, the platform audit entries, tenant isolation, SSO sync from the groups claim of a
real OIDC provider on loopback (manual memberships kept apart), and ``faramesh-cloud groups``
over a live gateway."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from click.testing import CliRunner, Result

from faramesh_cloud.cli.main import cli
from faramesh_cloud.identity.org_settings import SsoConfig
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.store import AuditFilter
from tests.fixtures.gateway import MakeClient
from tests.fixtures.identity import People, Person
from tests.fixtures.oidc import OidcProvider, authorize_at_provider

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def robot(client_factory: MakeClient, people: People, person: Person, role: Role) -> httpx.AsyncClient:
    _, key = await people.identity.api_keys.create(person.org.org_id, f"k-{role.value}", role,
                                                   await people.principal(person))
    return client_factory(headers={"Authorization": f"Bearer {key}"})


async def test_groups_are_made_filled_and_emptied_over_rest_with_audit_entries(
        client_factory: MakeClient, people: People, identity: Identity) -> None:
    owner = await people.org("acme")
    ops = await people.member(owner, Role.OPERATOR, email="oscar@example.test")
    admin = await robot(client_factory, people, owner, Role.ADMIN)
    made = await admin.post("/api/v1/orgs/acme/groups", json={"name": "payments-oncall", "description": "pager"})
    assert made.status_code == 201, made.text
    group_id = made.json()["group_id"]
    again = await admin.post("/api/v1/orgs/acme/groups", json={"name": "Payments-Oncall"})
    assert again.status_code == 400 and "exists already" in again.json()["detail"]
    added = await admin.post(f"/api/v1/orgs/acme/groups/{group_id}/members", json={"user_id": ops.user.user_id})
    assert added.status_code == 200, added.text
    assert added.json()["members"] == [{"user_id": ops.user.user_id, "email": "oscar@example.test",
                                        "sources": ["manual"]}]
    stranger = await admin.post(f"/api/v1/orgs/acme/groups/{group_id}/members",
                                json={"user_id": "00000000-0000-0000-0000-000000000001"})
    assert stranger.status_code == 404 and "no member" in stranger.json()["detail"]
    listed = (await admin.get("/api/v1/orgs/acme/groups")).json()
    assert [(g["name"], len(g["members"])) for g in listed] == [("payments-oncall", 1)]

    # Groups are part of Members: Owner and Admin only (an operator neither reads nor changes them).
    operator = await robot(client_factory, people, owner, Role.OPERATOR)
    assert (await operator.get(f"/api/v1/orgs/acme/groups/{group_id}")).status_code == 403
    assert (await operator.post("/api/v1/orgs/acme/groups", json={"name": "mine"})).status_code == 403
    assert (await operator.delete(f"/api/v1/orgs/acme/groups/{group_id}")).status_code == 403

    removed = await admin.delete(f"/api/v1/orgs/acme/groups/{group_id}/members/{ops.user.user_id}")
    assert removed.status_code == 200 and removed.json()["members"] == []
    gone = await admin.delete(f"/api/v1/orgs/acme/groups/{group_id}")
    assert gone.status_code == 200
    assert (await admin.get(f"/api/v1/orgs/acme/groups/{group_id}")).status_code == 404
    actions = [e.action for e in await identity.audit.entries(owner.org.org_id, AuditFilter(target_id=group_id))]
    assert actions == ["identity:group:create", "identity:group_member:add", "identity:group_member:remove",
                       "identity:group:delete"]


async def test_another_organisations_group_is_not_found(client_factory: MakeClient, people: People) -> None:
    acme = await people.org("acme")
    globex = await people.org("globex")
    theirs = await people.identity.groups.create(globex.org.org_id, "sre", "", await people.principal(globex))
    admin = await robot(client_factory, people, acme, Role.ADMIN)
    assert (await admin.get(f"/api/v1/orgs/acme/groups/{theirs.group_id}")).status_code == 404
    assert (await admin.delete(f"/api/v1/orgs/acme/groups/{theirs.group_id}")).status_code == 404
    assert (await admin.get("/api/v1/orgs/globex/groups")).status_code in (403, 404)
    # A member of another organisation cannot be put in a group.
    mine = await people.identity.groups.create(acme.org.org_id, "sre", "", await people.principal(acme))
    refused = await admin.post(f"/api/v1/orgs/acme/groups/{mine.group_id}/members",
                               json={"user_id": globex.user.user_id})
    assert refused.status_code == 404
    assert await people.identity.groups.member_emails(acme.org.org_id, [theirs.group_id]) == {}


async def sso_sign_in(client_factory: MakeClient, provider: OidcProvider, sub: str) -> None:
    browser = client_factory()
    started = await browser.get("/sso/start", params={"org": "acme"})
    signed_in = await browser.get(authorize_at_provider(started.headers["location"], sub))
    assert signed_in.status_code == 303, signed_in.text[:500]


async def test_sso_sign_in_sets_synced_groups_and_keeps_manual_ones(
        client_factory: MakeClient, identity: Identity, people: People, oidc_provider: OidcProvider) -> None:
    owner = await people.org("acme")
    by = await people.principal(owner)
    org_id = owner.org.org_id
    await identity.orgs.set_sso(org_id, SsoConfig(enabled=True, issuer=oidc_provider.issuer, client_id="faramesh-cloud",
                                                  client_secret="s3cret", mappings={"sre": Role.OPERATOR}),
                                by, keep_secret=False)
    oncall = await identity.groups.create(org_id, "oncall", "", by)
    everyone = await identity.groups.create(org_id, "everyone", "", by)
    await identity.groups.set_sso_claims(org_id, oncall.group_id, ["sre"], by)
    await identity.groups.set_sso_claims(org_id, everyone.group_id, ["everyone", "marketing"], by)

    await sso_sign_in(client_factory, oidc_provider, "alice")  # groups: sre, everyone
    alice = next(m for m in await identity.members.all(org_id) if m.user.email == "alice@corp.test")
    synced = {g.name: [(m.email, m.sources) for m in g.members] for g in await identity.groups.all(org_id)}
    assert synced == {"everyone": [("alice@corp.test", ("sso",))], "oncall": [("alice@corp.test", ("sso",))]}
    # Someone also adds her to oncall by hand: a second, separate membership.
    await identity.groups.add_member(org_id, oncall.group_id, alice.user.user_id, by)
    # The IdP's "sre" no longer maps to oncall: at the next sign-in sync takes the synced
    # membership away and leaves the manual one; "everyone" stays.
    await identity.groups.set_sso_claims(org_id, oncall.group_id, [], by)
    await sso_sign_in(client_factory, oidc_provider, "alice")
    after = {g.name: [(m.email, m.sources) for m in g.members] for g in await identity.groups.all(org_id)}
    assert after == {"everyone": [("alice@corp.test", ("sso",))], "oncall": [("alice@corp.test", ("manual",))]}
    # A synced membership cannot be removed by hand; it is the IdP's.
    admin = await robot(client_factory, people, owner, Role.ADMIN)
    refused = await admin.delete(f"/api/v1/orgs/acme/groups/{everyone.group_id}/members/{alice.user.user_id}")
    assert refused.status_code == 400 and "identity provider" in refused.json()["detail"]
    sync_entries = await identity.audit.entries(org_id, AuditFilter(action="identity:group_member:",
                                                                    actor="sso groups claim"))
    assert [(e.action, e.details["group"]) for e in sync_entries] == [
        ("identity:group_member:add", "everyone"), ("identity:group_member:add", "oncall"),
        ("identity:group_member:remove", "oncall")]
    assert await identity.groups.member_emails(org_id, [oncall.group_id, everyone.group_id]) == {
        oncall.group_id: ["alice@corp.test"], everyone.group_id: ["alice@corp.test"]}


async def run(*args: str, key: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env={"FARAMESH_CLOUD_API_KEY": key})


async def test_groups_cli_over_the_rest_api(served: str, people: People) -> None:
    owner = await people.org("acme")
    await people.member(owner, Role.OPERATOR, email="oscar@example.test")
    principal = await people.principal(owner)
    _, admin = await people.identity.api_keys.create(owner.org.org_id, "ci", Role.ADMIN, principal)
    _, viewer = await people.identity.api_keys.create(owner.org.org_id, "ro", Role.VIEWER, principal)
    made = await run("groups", "create", "payments-oncall", "--url", served, key=admin)
    assert made.exit_code == 0 and "created" in made.output, made.output
    added = await run("groups", "add", "payments-oncall", "OSCAR@example.test", "--url", served, key=admin)
    assert added.exit_code == 0 and "oscar@example.test (manual)" in added.output, added.output
    listed = await run("groups", "list", "--url", served, key=admin)
    assert listed.exit_code == 0 and "payments-oncall" in listed.output and "oscar@example.test" in listed.output
    nobody = await run("groups", "add", "payments-oncall", "nobody@example.test", "--url", served, key=admin)
    assert nobody.exit_code == 2 and "is not a member" in nobody.output
    unknown = await run("groups", "delete", "no-such-group", "--url", served, key=admin)
    assert unknown.exit_code == 2 and "no group" in unknown.output
    denied = await run("groups", "create", "x", "--url", served, key=viewer)
    assert denied.exit_code == 1, denied.output
    removed = await run("groups", "remove", "payments-oncall", "oscar@example.test", "--url", served, key=admin)
    assert removed.exit_code == 0 and "nobody" in removed.output, removed.output
    deleted = await run("groups", "delete", "payments-oncall", "--url", served, key=admin)
    assert deleted.exit_code == 0 and "deleted" in deleted.output
    assert await people.identity.groups.all(owner.org.org_id) == []

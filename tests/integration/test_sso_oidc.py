"""Sign in with SSO end to end: our gateway (Authlib RP) against a real OIDC provider on
127.0.0.1 (oidc-provider-mock: authorization code + PKCE, nonce required, signed ID tokens)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from faramesh_cloud.identity.org_settings import SsoConfig
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.store import AuditFilter
from tests.fixtures.gateway import MakeClient
from tests.fixtures.identity import People
from tests.fixtures.oidc import OidcProvider, authorize_at_provider

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def configure(identity: Identity, people: People, provider: OidcProvider, **overrides: object) -> None:
    owner = await people.org("acme")
    config = SsoConfig(enabled=True, issuer=provider.issuer, client_id="faramesh-cloud", client_secret="s3cret",
                       mappings={"sre": Role.OPERATOR, "platform": Role.ADMIN}, **overrides)  # type: ignore[arg-type]
    await identity.orgs.set_sso(owner.org.org_id, config, await people.principal(owner), keep_secret=False)


async def start(browser: httpx.AsyncClient) -> str:
    started = await browser.get("/sso/start", params={"org": "acme"})
    assert started.status_code == 302, started.text[:500]
    return started.headers["location"]


async def test_sso_sign_in_creates_a_member_with_the_mapped_role(
        client_factory: MakeClient, identity: Identity, people: People, oidc_provider: OidcProvider) -> None:
    await configure(identity, people, oidc_provider)
    browser = client_factory()
    authorization_url = await start(browser)
    query = parse_qs(urlsplit(authorization_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"] and query["nonce"]
    callback = authorize_at_provider(authorization_url, "alice")
    assert callback.startswith("http://testserver/sso/acme/callback?")
    signed_in = await browser.get(callback)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/o/acme/", signed_in.text[:500]
    me = (await browser.get("/api/v1/me")).json()
    assert me["label"] == "alice@corp.test"
    assert [(m["org"]["slug"], m["role"]) for m in me["memberships"]] == [("acme", "operator")]
    org = await identity.orgs.by_slug("acme")
    assert org is not None
    joined = await identity.audit.entries(org.org_id, AuditFilter(action="identity:member:add", actor="alice"))
    assert joined[0].details["via"] == "sso"
    # The same person again: the same account, no second membership.
    browser2 = client_factory()
    again = await browser2.get(authorize_at_provider(await start(browser2), "alice"))
    assert again.status_code == 303
    assert len([m for m in await identity.members.all(org.org_id) if m.user.email == "alice@corp.test"]) == 1


async def test_unmapped_groups_are_turned_away_unless_a_default_role_is_set(
        client_factory: MakeClient, identity: Identity, people: People, oidc_provider: OidcProvider) -> None:
    await configure(identity, people, oidc_provider)
    browser = client_factory()
    refused = await browser.get(authorize_at_provider(await start(browser), "bob"))
    assert refused.status_code == 400 and "maps to no role" in refused.text
    assert "fmc_session" not in browser.cookies


async def test_a_callback_with_a_forged_state_is_refused(
        client_factory: MakeClient, identity: Identity, people: People, oidc_provider: OidcProvider) -> None:
    await configure(identity, people, oidc_provider)
    browser = client_factory()
    callback = authorize_at_provider(await start(browser), "alice")
    forged = callback.replace("state=", "state=x")
    refused = await browser.get(forged)
    assert refused.status_code == 400 and "did not complete" in refused.text
    stranger = client_factory()  # the code without the browser that started the flow
    assert (await stranger.get(callback)).status_code == 400


async def test_sso_for_an_org_without_it_says_what_to_do(client_factory: MakeClient, people: People) -> None:
    await people.org("acme")
    answer = await client_factory().get("/sso/start", params={"org": "acme"})
    assert answer.status_code == 400 and "not set up for organisation" in answer.text and "configure SSO" in answer.text

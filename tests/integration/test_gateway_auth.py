"""Sign-in, sessions, CSRF, invitations, roles and API keys through the real gateway app
(httpx over ASGI) on a real PostgreSQL."""

from __future__ import annotations

import json

import httpx
import pytest

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.platform_audit.export import verify_bundle
from faramesh_cloud.signing.keys import parse_public_key
from faramesh_cloud.sql.database import Database
from tests.fixtures.gateway import MakeClient, csrf_of, page_csrf, sign_in
from tests.fixtures.identity import PASSWORD, People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def test_fresh_install_offers_the_first_owner_once(client_factory: MakeClient) -> None:
    browser = client_factory()
    landing = await browser.get("/")
    assert landing.status_code == 200 and "Create the first owner" in landing.text
    form = await browser.get("/setup")
    data = {"name": "Ada", "email": "ada@example.test", "password": PASSWORD, "org_name": "Acme", "org_slug": "acme"}
    assert (await browser.post("/setup", data=data)).status_code == 403  # no CSRF token
    created = await browser.post("/setup", data={**data, "csrf_token": csrf_of(form.text)})
    assert created.status_code == 303 and created.headers["location"] == "/o/acme/"
    cookie = created.headers["set-cookie"]
    assert "fmc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; see the https test
    assert (await browser.get("/")).headers["location"] == "/o/acme/"
    home = await browser.get("/o/acme/")
    assert home.status_code == 200 and "Fleet health" in home.text
    assert (await client_factory().get("/setup")).status_code == 404
    assert (await client_factory().get("/")).headers["location"] == "/login"


async def test_session_cookie_is_secure_over_https(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    response = await sign_in(client_factory(base_url="https://testserver"), owner.email, PASSWORD)
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]


async def test_sign_in_and_out(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    browser = client_factory()
    wrong = await sign_in(browser, owner.email, "not the password")
    assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    assert (await sign_in(browser, owner.email, PASSWORD)).status_code == 303
    cookie = browser.cookies["fmc_session"]
    csrf = await page_csrf(browser, "/o/acme/")
    assert (await browser.post("/logout")).status_code == 403  # sign-out needs the token too
    out = await browser.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    replay = client_factory(cookies={"fmc_session": cookie})
    assert (await replay.get("/o/acme/")).headers["location"] == "/login?next=/o/acme/"


async def test_repeated_failures_lock_this_address_and_email(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    browser = client_factory()
    for _ in range(2):
        assert (await sign_in(browser, owner.email, "guess")).status_code == 401
    locked = await sign_in(browser, owner.email, "guess")
    assert locked.status_code == 429 and "locked until" in locked.text
    assert (await sign_in(browser, owner.email, PASSWORD)).status_code == 429


async def test_forms_and_cookie_api_writes_need_the_sessions_csrf_token(
        client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    browser, other = client_factory(), client_factory()
    await sign_in(browser, owner.email, PASSWORD)
    await sign_in(other, owner.email, PASSWORD)
    invite = {"email": "x@example.test", "role": "viewer"}
    assert (await browser.post("/o/acme/settings/members/invite", data=invite)).status_code == 403
    foreign = await page_csrf(other, "/o/acme/")
    assert (await browser.post("/o/acme/settings/members/invite", data={**invite, "csrf_token": foreign})).status_code == 403
    mine = await page_csrf(browser, "/o/acme/")
    assert (await browser.post("/o/acme/settings/members/invite", data={**invite, "csrf_token": mine})).status_code == 200
    body = {"name": "Acme Corp", "slug": "acme"}
    assert (await browser.patch("/api/v1/orgs/acme", json=body)).status_code == 403
    ok = await browser.patch("/api/v1/orgs/acme", json=body, headers={"X-CSRF-Token": mine})
    assert ok.status_code == 200 and ok.json()["name"] == "Acme Corp"


async def test_an_expired_or_idle_session_ends(client_factory: MakeClient, people: People, database: Database) -> None:
    owner = await people.org("acme")
    browser = client_factory()
    await sign_in(browser, owner.email, PASSWORD)
    assert (await browser.get("/o/acme/")).status_code == 200
    async with database.connection() as conn:
        await conn.execute("UPDATE sessions SET idle_expires_at = now() - interval '1 second'")
    assert (await browser.get("/o/acme/")).status_code == 303
    await sign_in(browser, owner.email, PASSWORD)
    async with database.connection() as conn:
        await conn.execute("UPDATE sessions SET expires_at = now() - interval '1 second'")
    assert (await browser.get("/api/v1/me")).status_code == 401


async def test_invitation_link_makes_a_member_with_that_role(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    admin = client_factory()
    await sign_in(admin, owner.email, PASSWORD)
    csrf = await page_csrf(admin, "/o/acme/settings/members")
    created = await admin.post("/o/acme/settings/members/invite",
                               data={"email": "vera@example.test", "role": "viewer", "csrf_token": csrf})
    link = created.text.split('<pre id="invite-link">')[1].split("</pre>")[0]
    invitee = client_factory()
    form = await invitee.get(httpx.URL(link).path)
    assert "Join Acme" in form.text and "Viewer" in form.text
    joined = await invitee.post(httpx.URL(link).path, data={"name": "Vera", "password": PASSWORD,
                                                             "csrf_token": csrf_of(form.text)})
    assert joined.status_code == 303 and joined.headers["location"] == "/o/acme/"
    home = await invitee.get("/o/acme/")
    assert home.status_code == 200 and "Viewer" in home.text
    assert "/settings/" not in home.text  # a viewer's navigation has no Settings
    assert (await invitee.get("/o/acme/settings/members")).status_code == 403
    again = await client_factory().get(httpx.URL(link).path)
    assert again.status_code == 404 and "not valid any more" in again.text


async def test_role_change_takes_effect_on_the_next_api_call(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    viewer = await people.member(owner, Role.VIEWER)
    theirs, mine = client_factory(), client_factory()
    await sign_in(theirs, viewer.email, PASSWORD)
    await sign_in(mine, owner.email, PASSWORD)
    assert (await theirs.get("/api/v1/orgs/acme/members")).status_code == 403
    csrf = (await mine.get("/api/v1/me")).json()["csrf_token"]
    changed = await mine.patch(f"/api/v1/orgs/acme/members/{viewer.user.user_id}", json={"role": "admin"},
                               headers={"X-CSRF-Token": csrf})
    assert changed.status_code == 200 and changed.json()["role"] == "admin"
    members = await theirs.get("/api/v1/orgs/acme/members")
    assert members.status_code == 200 and {m["email"] for m in members.json()} == {owner.email, viewer.email}
    demoted = await mine.patch(f"/api/v1/orgs/acme/members/{viewer.user.user_id}", json={"role": "viewer"},
                               headers={"X-CSRF-Token": csrf})
    assert demoted.status_code == 200
    assert (await theirs.get("/api/v1/orgs/acme/members")).status_code == 403


async def test_api_keys_act_with_their_role_until_revoked(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    browser = client_factory()
    await sign_in(browser, owner.email, PASSWORD)
    csrf = (await browser.get("/api/v1/me")).json()["csrf_token"]
    created = await browser.post("/api/v1/orgs/acme/api-keys", json={"name": "reports", "role": "auditor"},
                                 headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    key = created.json()["key"]
    robot = client_factory(headers={"Authorization": f"Bearer {key}"})
    me = (await robot.get("/api/v1/me")).json()
    assert me["kind"] == "api_key" and me["memberships"][0]["org"]["slug"] == "acme"
    assert (await robot.get("/api/v1/orgs/acme/audit-log")).status_code == 200
    assert (await robot.get("/api/v1/orgs/acme/members")).status_code == 403
    assert (await browser.get("/api/v1/orgs/acme/api-keys")).json()[0]["key"] is None  # shown once only
    revoked = await browser.delete(f"/api/v1/orgs/acme/api-keys/{created.json()['id']}", headers={"X-CSRF-Token": csrf})
    assert revoked.status_code == 200
    assert (await robot.get("/api/v1/orgs/acme/audit-log")).status_code == 401


async def test_actions_land_in_the_audit_log_and_its_export_verifies(client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    viewer = await people.member(owner, Role.VIEWER)
    browser = client_factory()
    await sign_in(browser, viewer.email, "wrong password")
    await sign_in(browser, owner.email, PASSWORD)
    csrf = (await browser.get("/api/v1/me")).json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    await browser.patch(f"/api/v1/orgs/acme/members/{viewer.user.user_id}", json={"role": "operator"}, headers=headers)
    key = (await browser.post("/api/v1/orgs/acme/api-keys", json={"name": "ci", "role": "viewer"}, headers=headers)).json()
    await browser.delete(f"/api/v1/orgs/acme/api-keys/{key['id']}", headers=headers)
    actions = [e["action"] for e in (await browser.get("/api/v1/orgs/acme/audit-log")).json()]
    for expected in ("identity:session:login", "identity:session:login_failed", "identity:invitation:create",
                     "identity:invitation:accept", "identity:member:role_change", "identity:apikey:create",
                     "identity:apikey:revoke"):
        assert expected in actions, expected
    changes = (await browser.get("/api/v1/orgs/acme/audit-log", params={"action": "identity:member:role_change"})).json()
    assert [(c["actor"]["label"], c["details"]["to"]) for c in changes] == [(owner.email, "operator")]

    exported = await browser.get("/api/v1/orgs/acme/audit-log/export")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    public = parse_public_key((await browser.get("/api/v1/platform/signing-key")).json()["pem"])
    bundle = json.loads(exported.content)
    report = verify_bundle(bundle, public)
    assert report.ok and bundle["chain"]["complete"] and bundle["kind"] == "platform-audit-log"
    bundle["entries"][0]["details"]["role"] = "viewer"
    assert not verify_bundle(bundle, public).ok
    verified = await browser.post("/api/v1/orgs/acme/audit-log/verify", headers=headers)
    assert verified.json()["ok"] is True


async def test_openapi_documents_the_identity_api(client_factory: MakeClient) -> None:
    spec = (await client_factory().get("/api/v1/openapi.json")).json()
    for path in ("/api/v1/me", "/api/v1/orgs/{org}/members", "/api/v1/orgs/{org}/api-keys",
                 "/api/v1/orgs/{org}/audit-log/export", "/api/v1/orgs/{org}/sso"):
        assert path in spec["paths"], path

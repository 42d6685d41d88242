"""Settings → Stacks → signing keys over HTTP (real app over ASGI, real PostgreSQL): pin,
list and revoke from the page and the REST twin, Owner/Admin only, 400 for a malformed key,
404 for another organisation's stack, and every change in the platform audit log."""

from __future__ import annotations

import base64

import httpx
import pytest
from nacl.signing import SigningKey

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.events import AuditAction
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, page_csrf, sign_in
from tests.fixtures.identity import PASSWORD, People, Person

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

KEY = base64.b64encode(bytes(SigningKey(bytes([7]) * 32).verify_key)).decode()
KEY2 = base64.b64encode(bytes(SigningKey(bytes([8]) * 32).verify_key)).decode()


async def signed_in(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    response = await sign_in(client, person.email, PASSWORD)
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def test_pin_list_revoke_from_page_and_api_are_audited(
        client_factory: MakeClient, people: People, identity: Identity, stacks: StackStore) -> None:
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments-prod")
    owner = await signed_in(client_factory, acme)
    assert f"/settings/stacks/{stack.stack_id}/signing-keys" in (await owner.get("/o/acme/settings/stacks")).text
    url = f"/o/acme/settings/stacks/{stack.stack_id}/signing-keys"
    page = await owner.get(url)
    assert page.status_code == 200 and 'id="no-pins"' in page.text

    csrf = await page_csrf(owner, url)
    assert (await owner.post(url, data={"public_key": KEY})).status_code == 403  # no CSRF token
    pinned = await owner.post(url, data={"csrf_token": csrf, "public_key": f"ed25519:{KEY}", "label": "prod"})
    assert pinned.status_code == 303
    listed = await owner.get(url)
    assert KEY in listed.text and "prod" in listed.text
    bad = await owner.post(url, data={"csrf_token": csrf, "public_key": "c2hvcnQ="})
    assert bad.status_code == 400 and "not an Ed25519 public key" in bad.text

    headers = {"X-CSRF-Token": (await owner.get("/api/v1/me")).json()["csrf_token"]}
    api = f"/api/v1/orgs/acme/stacks/{stack.stack_id}/signing-keys"
    made = await owner.post(api, json={"public_key": KEY2}, headers=headers)
    assert made.status_code == 201 and made.json()["public_key"] == KEY2
    bad_api = await owner.post(api, json={"public_key": "nope"}, headers=headers)
    assert bad_api.status_code == 400 and "not an Ed25519 public key" in bad_api.text
    rows = (await owner.get(api)).json()
    assert [r["public_key"] for r in rows] == [KEY, KEY2] and rows[0]["label"] == "prod"
    gone = await owner.delete(f"{api}/{made.json()['key_id']}", headers=headers)
    assert gone.status_code == 200 and gone.json()["revoked_at"] is not None
    assert (await owner.delete(f"{api}/{'0' * 64}", headers=headers)).status_code == 404
    revoke_page = await owner.post(f"{url}/{rows[0]['key_id']}/revoke", data={"csrf_token": csrf})
    assert revoke_page.status_code == 303
    assert [r["revoked_at"] is not None for r in (await owner.get(api)).json()] == [True, True]

    entries = await identity.audit.entries(acme.org.org_id)
    actions = [e.action for e in entries]
    assert actions.count(AuditAction.STACK_SIGNING_KEY_PINNED) == 2
    assert actions.count(AuditAction.STACK_SIGNING_KEY_UNPINNED) == 2


async def test_only_owner_and_admin_manage_keys_and_other_orgs_get_404(
        client_factory: MakeClient, people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments-prod")
    api = f"/api/v1/orgs/acme/stacks/{stack.stack_id}/signing-keys"

    admin = await signed_in(client_factory, await people.member(acme, Role.ADMIN))
    headers = {"X-CSRF-Token": (await admin.get("/api/v1/me")).json()["csrf_token"]}
    assert (await admin.post(api, json={"public_key": KEY}, headers=headers)).status_code == 201
    for role in (Role.OPERATOR, Role.AUDITOR, Role.VIEWER):
        member = await signed_in(client_factory, await people.member(acme, role))
        headers = {"X-CSRF-Token": (await member.get("/api/v1/me")).json()["csrf_token"]}
        assert (await member.get(api)).status_code == 403, role
        assert (await member.post(api, json={"public_key": KEY2}, headers=headers)).status_code == 403, role

    evil = await people.org("evil")
    other = await signed_in(client_factory, evil)
    headers = {"X-CSRF-Token": (await other.get("/api/v1/me")).json()["csrf_token"]}
    theirs = f"/api/v1/orgs/evil/stacks/{stack.stack_id}/signing-keys"
    assert (await other.get(theirs)).status_code == 404
    assert (await other.post(theirs, json={"public_key": KEY2}, headers=headers)).status_code == 404
    assert (await other.get(f"/o/evil/settings/stacks/{stack.stack_id}/signing-keys")).status_code == 404
    assert [k.public_key for k in await stacks.signing_keys.list(acme.org.org_id, stack.stack_id)] == [KEY]


_REFUSE_KEY_AUDITS = """
CREATE FUNCTION refuse_key_audits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the platform audit log is refusing writes (test)';
END $$;
CREATE TRIGGER refuse_key_audits BEFORE INSERT ON platform_audit_log FOR EACH ROW
    WHEN (NEW.action LIKE 'fleet:stack_signing_key:%') EXECUTE FUNCTION refuse_key_audits();
"""


async def _pins(database: Database) -> list[tuple[str, bool]]:
    async with database.connection() as conn:
        keys = await (await conn.execute(
            "SELECT public_key, revoked_at IS NULL FROM stack_signing_keys ORDER BY added_at")).fetchall()
        events = await (await conn.execute("SELECT count(*) FROM stacks_outbox")).fetchone()
    return [(str(k), bool(active)) for k, active in keys] + [("events", bool(events and events[0]))]


async def test_a_pin_or_revocation_whose_audit_entry_fails_is_not_made(
        client_factory: MakeClient, people: People, identity: Identity, stacks: StackStore,
        database: Database) -> None:
    """The pin, its event and its audit entry commit in one transaction: no pin without its
    audit entry, whatever fails in between."""
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments-prod")
    owner = await signed_in(client_factory, acme)
    headers = {"X-CSRF-Token": (await owner.get("/api/v1/me")).json()["csrf_token"]}
    api = f"/api/v1/orgs/acme/stacks/{stack.stack_id}/signing-keys"
    made = await owner.post(api, json={"public_key": KEY}, headers=headers)
    assert made.status_code == 201
    async with database.connection() as conn:
        await conn.execute("DELETE FROM stacks_outbox")  # the first pin's event: relayed, say
        await conn.execute(_REFUSE_KEY_AUDITS)
    with pytest.raises(Exception, match="refusing writes"):  # the app's error reaches the ASGI client
        await owner.post(api, json={"public_key": KEY2}, headers=headers)
    with pytest.raises(Exception, match="refusing writes"):
        await owner.delete(f"{api}/{made.json()['key_id']}", headers=headers)
    assert await _pins(database) == [(KEY, True), ("events", False)]  # neither the pin nor the revocation
    async with database.connection() as conn:
        await conn.execute("DROP TRIGGER refuse_key_audits ON platform_audit_log")
    assert (await owner.post(api, json={"public_key": KEY2}, headers=headers)).status_code == 201
    assert await _pins(database) == [(KEY, True), (KEY2, True), ("events", True)]
    actions = [e.action for e in await identity.audit.entries(acme.org.org_id)]
    assert actions.count(AuditAction.STACK_SIGNING_KEY_PINNED) == 2  # one per pin made, none for the failed
    assert AuditAction.STACK_SIGNING_KEY_UNPINNED not in actions

"""Identity stores on a real PostgreSQL: the rules people rely on, and tenant isolation."""

from __future__ import annotations

import psycopg
import pytest

from faramesh_cloud.identity.domain import Forbidden, IdentityError, LoginLocked, NotFound
from faramesh_cloud.identity.permissions import Permission, Role, StackRole
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.platform_audit.events import AuditAction
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import PASSWORD, People

pytestmark = [pytest.mark.postgres]


async def test_first_owner_only_once(identity: Identity, people: People) -> None:
    assert not await identity.users.any_user()
    await people.org("acme")
    assert await identity.users.any_user()
    with pytest.raises(IdentityError, match="already has users"):
        await identity.users.create_first_owner(email="x@example.test", name="X", password=PASSWORD,
                                                org_slug="other", org_name="Other")


async def test_password_sign_in_locks_after_repeated_failures(identity: Identity, people: People,
                                                              audit_log: PlatformAuditLog) -> None:
    owner = await people.org("acme")
    assert (await identity.users.authenticate(owner.email, PASSWORD, "10.0.0.1")).user_id == owner.user.user_id
    for _ in range(2):
        with pytest.raises(IdentityError, match="wrong email or password") as failed:
            await identity.users.authenticate(owner.email, "not the password", "10.0.0.1")
        assert not isinstance(failed.value, LoginLocked)
    with pytest.raises(LoginLocked, match="locked until"):
        await identity.users.authenticate(owner.email, "not the password", "10.0.0.1")
    with pytest.raises(LoginLocked):  # even the right password, while locked
        await identity.users.authenticate(owner.email, PASSWORD, "10.0.0.1")
    # Another address is not locked out by someone else's guessing.
    assert await identity.users.authenticate(owner.email, PASSWORD, "10.0.0.2")
    actions = [e.action for e in await audit_log.entries(owner.org.org_id)]
    assert actions.count(AuditAction.SESSION_LOGIN_FAILED) == 3
    assert actions.count(AuditAction.SESSION_LOCKED_OUT) == 1


async def test_only_owners_make_owners_and_one_owner_always_remains(identity: Identity, people: People) -> None:
    owner = await people.org("acme")
    admin = await people.member(owner, Role.ADMIN)
    viewer = await people.member(owner, Role.VIEWER)
    with pytest.raises(Forbidden, match="only an owner"):
        await identity.members.change_role(owner.org.org_id, viewer.user.user_id, Role.OWNER,
                                           await people.principal(admin))
    with pytest.raises(Forbidden):
        await identity.members.change_role(owner.org.org_id, owner.user.user_id, Role.VIEWER,
                                           await people.principal(admin))
    with pytest.raises(IdentityError, match="at least one owner"):
        await identity.members.change_role(owner.org.org_id, owner.user.user_id, Role.ADMIN,
                                           await people.principal(owner))
    changed = await identity.members.change_role(owner.org.org_id, viewer.user.user_id, Role.OPERATOR,
                                                 await people.principal(admin))
    assert changed.role is Role.OPERATOR
    with pytest.raises(Forbidden, match="does not include org:member:manage"):
        await identity.members.remove(owner.org.org_id, admin.user.user_id, await people.principal(viewer))


async def test_stack_override_changes_what_a_member_may_do_on_that_stack(
        identity: Identity, people: People, stacks: StackStore) -> None:
    owner = await people.org("acme")
    viewer = await people.member(owner, Role.VIEWER)
    payments, _ = await stacks.register_stack(owner.org.org_id, "payments")
    other, _ = await stacks.register_stack(owner.org.org_id, "search")
    await identity.members.set_stack_role(owner.org.org_id, viewer.user.user_id, payments.stack_id,
                                          StackRole.OPERATOR, await people.principal(owner))
    access = await identity.members.access(owner.org.org_id, viewer.user.user_id)
    assert access is not None
    assert access.allows(Permission.APPROVALS_REQUEST_DECIDE, payments.stack_id)
    assert not access.allows(Permission.APPROVALS_REQUEST_DECIDE, other.stack_id)
    assert not access.allows(Permission.ORG_MEMBER_READ, payments.stack_id)


async def test_invitation_is_single_use_and_revocable(identity: Identity, people: People) -> None:
    owner = await people.org("acme")
    by = await people.principal(owner)
    _, token = await identity.invitations.create(owner.org.org_id, "new@example.test", Role.AUDITOR, by)
    invitation, org, exists = await identity.invitations.preview(token)
    assert (invitation.email, org.slug, exists) == ("new@example.test", "acme", False)
    user, _ = await identity.invitations.accept(token, name="New", password=PASSWORD)
    access = await identity.members.access(owner.org.org_id, user.user_id)
    assert access is not None and access.role is Role.AUDITOR
    with pytest.raises(NotFound, match="not valid any more"):
        await identity.invitations.accept(token, name="Again", password=PASSWORD)
    revoked, token2 = await identity.invitations.create(owner.org.org_id, "late@example.test", Role.VIEWER, by)
    await identity.invitations.revoke(owner.org.org_id, revoked.invitation_id, by)
    with pytest.raises(NotFound):
        await identity.invitations.preview(token2)


async def test_expired_invitation_cannot_be_used(identity: Identity, people: People, database: Database) -> None:
    owner = await people.org("acme")
    invitation, token = await identity.invitations.create(owner.org.org_id, "slow@example.test", Role.VIEWER,
                                                          await people.principal(owner))
    async with database.connection() as conn:
        await conn.execute("UPDATE invitations SET expires_at = now() - interval '1 second' "
                           "WHERE invitation_id = %s", (invitation.invitation_id,))
    with pytest.raises(NotFound, match="expired"):
        await identity.invitations.accept(token, name="Slow", password=PASSWORD)


async def test_api_key_role_cannot_exceed_its_creator_and_revocation_ends_it(
        identity: Identity, people: People) -> None:
    owner = await people.org("acme")
    admin = await people.member(owner, Role.ADMIN)
    with pytest.raises(Forbidden, match="no higher than your own"):
        await identity.api_keys.create(owner.org.org_id, "ci", Role.OWNER, await people.principal(admin))
    key, plaintext = await identity.api_keys.create(owner.org.org_id, "ci", Role.AUDITOR, await people.principal(admin))
    assert plaintext.startswith("fmc_pk_") and key.prefix in plaintext
    found = await identity.api_keys.authenticate(plaintext)
    assert found is not None and found[1].slug == "acme" and found[0].role is Role.AUDITOR
    assert await identity.api_keys.authenticate(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None
    await identity.api_keys.revoke(owner.org.org_id, key.key_id, await people.principal(owner))
    assert await identity.api_keys.authenticate(plaintext) is None


async def test_another_orgs_ids_are_not_found(identity: Identity, people: People) -> None:
    a = await people.org("acme")
    b = await people.org("beta")
    a_viewer = await people.member(a, Role.VIEWER)
    key, _ = await identity.api_keys.create(a.org.org_id, "ci", Role.VIEWER, await people.principal(a))
    invitation, _ = await identity.invitations.create(a.org.org_id, "x@example.test", Role.VIEWER,
                                                      await people.principal(a))
    b_owner = await people.principal(b)
    with pytest.raises(NotFound):
        await identity.members.change_role(b.org.org_id, a_viewer.user.user_id, Role.ADMIN, b_owner)
    with pytest.raises(NotFound):
        await identity.api_keys.revoke(b.org.org_id, key.key_id, b_owner)
    with pytest.raises(NotFound):
        await identity.invitations.revoke(b.org.org_id, invitation.invitation_id, b_owner)
    assert [m.user.email for m in await identity.members.all(b.org.org_id)] == [b.email]


async def test_row_level_security_hides_every_tenant_row_without_the_org_setting(
        identity: Identity, people: People, database: Database, audit_log: PlatformAuditLog) -> None:
    a = await people.org("acme")
    b = await people.org("beta")
    await people.member(a, Role.VIEWER)
    await identity.api_keys.create(a.org.org_id, "ci", Role.VIEWER, await people.principal(a))
    tables = ["memberships", "invitations", "platform_api_keys", "platform_audit_log", "platform_audit_heads"]
    async with database.connection() as conn:  # the owner (superuser) sees everything
        owner_counts = {t: (await (await conn.execute(f"SELECT count(*) FROM {t}")).fetchone())[0] for t in tables}
    assert all(n > 0 for n in owner_counts.values()), owner_counts
    async with tenant_transaction(database, None) as conn:  # the app role, no organisation set
        unset = {t: (await (await conn.execute(f"SELECT count(*) FROM {t}")).fetchone())[0] for t in tables}
    assert unset == dict.fromkeys(tables, 0)
    async with tenant_transaction(database, b.org.org_id) as conn:  # the app role, org B
        orgs_seen = {str(r[0]) for t in tables for r in await (await conn.execute(f"SELECT org_id FROM {t}")).fetchall()}
    assert orgs_seen == {b.org.org_id}
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        async with tenant_transaction(database, b.org.org_id) as conn:
            await conn.execute("INSERT INTO platform_api_keys (key_id, org_id, name, role, secret_sha256) "
                               "VALUES ('00112233445566ff', %s, 'x', 'owner', %s)", (a.org.org_id, bytes(32)))
    assert [e.action for e in await audit_log.page(a.org.org_id, AuditFilter(action="identity:apikey:"))] == [
        AuditAction.API_KEY_CREATED]


async def test_platform_audit_log_is_append_only(people: People, database: Database) -> None:
    owner = await people.org("acme")
    async with database.connection() as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute("UPDATE platform_audit_log SET actor_label = 'someone else' WHERE org_id = %s",
                               (owner.org.org_id,))


async def test_the_first_owner_adopts_an_organisation_made_before_anyone_could_sign_in(
        identity: Identity, stacks: StackStore) -> None:
    default = await stacks.create_org("default", "Default organisation")
    stack, _ = await stacks.register_stack(default.org_id, "payments")
    assert (await identity.users.lone_org()) is not None
    user, org = await identity.users.create_first_owner(email="ada@example.test", name="Ada", password=PASSWORD,
                                                        org_slug="default", org_name="ignored")
    assert (org.org_id, org.name) == (default.org_id, "Default organisation")
    access = await identity.members.access(org.org_id, user.user_id)
    assert access is not None and access.role is Role.OWNER
    assert [s.stack_id for s in await stacks.list_stacks(org.org_id)] == [stack.stack_id]

"""Invitations: a one-time link (token hashed at rest) that expires, revocable until used.

Accepting: a person new to this installation sets their name and password; someone who
already has an account signs in as the invited email first, then opens the link.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, Final

from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity import passwords
from faramesh_cloud.identity.claims import claim_person
from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.domain import (
    Forbidden,
    IdentityError,
    Invitation,
    NotFound,
    OrgRef,
    Principal,
    User,
)
from faramesh_cloud.identity.members import MemberStore
from faramesh_cloud.identity.passwords import Passwords
from faramesh_cloud.identity.permissions import Permission, Role
from faramesh_cloud.identity.rows import (
    ORG_COLUMNS,
    USER_COLUMNS,
    normal_email,
    org,
    user,
    uuid_text,
)
from faramesh_cloud.identity.tokens import digest, new_secret, well_formed_secret
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_COLUMNS: Final = "invitation_id, org_id, email, role, created_at, expires_at, accepted_at, revoked_at"
_UNUSABLE: Final = "this invitation link is not valid any more (used, revoked or expired); ask for a new one"


def _invitation(row: tuple[Any, ...]) -> Invitation:
    return Invitation(str(row[0]), str(row[1]), row[2], Role(row[3]), row[4], row[5], row[6], row[7])


class InvitationStore:
    def __init__(self, db: Database, audit: PlatformAuditLog, members: MemberStore, config: IdentityConfig,
                 hasher: Passwords, region: Region | None = None) -> None:
        self._db = db
        self._region = region
        self._hasher = hasher
        self._audit = audit
        self._members = members
        self._config = config

    async def create(self, org_id: str, email: str, role: Role, by: Principal) -> tuple[Invitation, str]:
        """Invite ``email`` as ``role``; returns the invitation and its token (shown once).
        An earlier pending invitation of the same email is revoked."""
        if not by.access.allows(Permission.ORG_MEMBER_MANAGE):
            raise Forbidden(f"your role ({by.access.role.label}) cannot invite members; ask an owner or admin")
        if not by.access.may_grant(role):
            raise Forbidden(f"a {by.access.role.label} cannot invite a {role.label}; only owners invite owners")
        email = normal_email(email)
        token = new_secret()
        async with tenant_transaction(self._db, org_id) as conn:
            member = await (await conn.execute(
                "SELECT 1 FROM memberships m JOIN users u ON u.user_id = m.user_id "
                "WHERE m.org_id = %s AND u.email = %s", (org_id, email),
            )).fetchone()
            if member is not None:
                raise IdentityError(f"{email} is already a member; change their role instead")
            await conn.execute(
                "UPDATE invitations SET revoked_at = now() WHERE org_id = %s AND email = %s "
                "AND accepted_at IS NULL AND revoked_at IS NULL", (org_id, email))
            row = await (await conn.execute(
                f"INSERT INTO invitations (invitation_id, org_id, email, role, token_sha256, invited_by, expires_at) "
                f"VALUES (%s, %s, %s, %s, %s, %s, now() + make_interval(secs => %s)) RETURNING {_COLUMNS}",
                (str(uuid.uuid4()), org_id, email, role.value, digest(token),
                 by.user.user_id if by.user else None, self._config.invitation_ttl_s),
            )).fetchone()
            assert row is not None
            invitation = _invitation(row)
            await self._audit.append_in(conn, org_id, AuditAction.INVITATION_CREATED, by.actor,
                                        target=Target("invitation", invitation.invitation_id),
                                        details={"email": email, "role": role.value,
                                                 "expires_at": invitation.expires_at.isoformat()})
        return invitation, token

    async def all(self, org_id: str) -> list[Invitation]:
        async with tenant_transaction(self._db, org_id) as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM invitations WHERE org_id = %s ORDER BY created_at DESC LIMIT 200",
                (org_id,),
            )).fetchall()
        return [_invitation(r) for r in rows]

    async def revoke(self, org_id: str, invitation_id: str, by: Principal) -> Invitation:
        if not by.access.allows(Permission.ORG_MEMBER_MANAGE):
            raise Forbidden(f"your role ({by.access.role.label}) cannot revoke invitations")
        invitation_id = uuid_text(invitation_id, "invitation")
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                "UPDATE invitations SET revoked_at = COALESCE(revoked_at, now()) WHERE org_id = %s "
                f"AND invitation_id = %s AND accepted_at IS NULL RETURNING {_COLUMNS}", (org_id, invitation_id),
            )).fetchone()
            if row is None:
                raise NotFound(f"no open invitation {invitation_id} in this organisation; list the invitations")
            await self._audit.append_in(conn, org_id, AuditAction.INVITATION_REVOKED, by.actor,
                                        target=Target("invitation", invitation_id), details={"email": row[2]})
        return _invitation(row)

    async def preview(self, token: str) -> tuple[Invitation, OrgRef, bool]:
        """The usable invitation behind ``token``, its organisation, and whether an account
        with the invited email exists already."""
        async with tenant_transaction(self._db, None) as conn:
            found = await self._find(conn, token)
            invitation, org_ref = found
            exists = await (await conn.execute(
                "SELECT 1 FROM users WHERE email = %s", (invitation.email,))).fetchone()
        return invitation, org_ref, exists is not None

    async def accept(self, token: str, *, signed_in: User | None = None, name: str = "", password: str = "",
                     ip: str = "") -> tuple[User, OrgRef]:
        """Join the organisation. ``signed_in`` must be the invited email's account; without
        one, a new account is made with ``name`` and ``password``."""
        new_hash = None
        if signed_in is None:
            problem = passwords.check_policy(password)
            if problem:
                raise IdentityError(problem)
            new_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with tenant_transaction(self._db, None) as conn:
            invitation, org_ref = await self._find(conn, token, lock=True)
            if signed_in is not None:
                if signed_in.email != invitation.email:
                    raise IdentityError(f"this invitation is for {invitation.email}, and you are signed in as "
                                        f"{signed_in.email}; sign out and open the link again")
                joining = signed_in
            else:
                existing = await (await conn.execute(
                    "SELECT 1 FROM users WHERE email = %s", (invitation.email,))).fetchone()
                if existing is not None:
                    raise IdentityError(f"an account for {invitation.email} exists already; sign in as "
                                        "that account, then open the invitation link again")
                await claim_person(self._region, invitation.email)
                row = await (await conn.execute(
                    f"INSERT INTO users AS u (user_id, email, name, password_hash) VALUES (%s, %s, %s, %s) "
                    f"RETURNING {USER_COLUMNS}",
                    (str(uuid.uuid4()), invitation.email, name.strip()[:200], new_hash),
                )).fetchone()
                assert row is not None
                joining = user(row)
            await conn.execute("SELECT set_config('app.org_id', %s, true)", (invitation.org_id,))
            actor = Actor(ActorType.USER, joining.user_id, joining.email, ip)
            await self._members.add_in(conn, invitation.org_id, joining.user_id, joining.email, invitation.role,
                                       "invitation", actor, {"invitation_id": invitation.invitation_id})
            await conn.execute(
                "UPDATE invitations SET accepted_at = now(), accepted_by = %s WHERE org_id = %s AND invitation_id = %s",
                (joining.user_id, invitation.org_id, invitation.invitation_id))
            await self._audit.append_in(conn, invitation.org_id, AuditAction.INVITATION_ACCEPTED, actor,
                                        target=Target("invitation", invitation.invitation_id),
                                        details={"email": joining.email, "role": invitation.role.value})
        return joining, org_ref

    @staticmethod
    async def _find(conn: Any, token: str, *, lock: bool = False) -> tuple[Invitation, OrgRef]:
        if not well_formed_secret(token):
            raise NotFound(_UNUSABLE)
        found = await (await conn.execute(
            "SELECT invitation_id, org_id FROM identity_find_invitation(%s)", (digest(token),))).fetchone()
        if found is None:
            raise NotFound(_UNUSABLE)
        await conn.execute("SELECT set_config('app.org_id', %s, true)", (str(found[1]),))
        row = await (await conn.execute(
            f"SELECT {_COLUMNS}, now() FROM invitations WHERE org_id = %s AND invitation_id = %s"
            + (" FOR UPDATE" if lock else ""), (found[1], found[0]),
        )).fetchone()
        assert row is not None
        invitation = _invitation(row)
        if invitation.state(row[8]) != "pending":
            raise NotFound(_UNUSABLE)
        org_row = await (await conn.execute(
            f"SELECT {ORG_COLUMNS} FROM orgs o WHERE o.org_id = %s", (found[1],))).fetchone()
        assert org_row is not None
        return invitation, org(org_row)

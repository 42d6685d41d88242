"""Users: the first owner of a fresh install, password sign-in (throttled), sign-in audit.

Users are global (one person, many organisations), so their rows carry no ``org_id``;
everything a user may do is in ``memberships``. Sign-in events are appended to the platform
audit log of every organisation the user belongs to: that is where their admins look.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any, Final

from psycopg import errors as pg_errors

from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity import passwords
from faramesh_cloud.identity.claims import claim_org, claim_person
from faramesh_cloud.identity.domain import IdentityError, LoginLocked, OrgRef, User
from faramesh_cloud.identity.passwords import Passwords
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.rows import USER_COLUMNS, normal_email, user
from faramesh_cloud.identity.throttle import LoginThrottle
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import enter_org, tenant_transaction

# Transaction advisory lock serialising "create the first owner" ("fmc" "frst").
_FIRST_OWNER_LOCK: Final = 0x666D_6366_7273_74
_BAD_LOGIN: Final = "wrong email or password; check both, or ask an organisation admin to invite you again"


class UserStore:
    def __init__(self, db: Database, audit: PlatformAuditLog, throttle: LoginThrottle,
                 hasher: Passwords, region: Region | None = None) -> None:
        self._db = db
        self._region = region
        self._hasher = hasher
        self._audit = audit
        self._throttle = throttle

    async def any_user(self) -> bool:
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute("SELECT EXISTS (SELECT 1 FROM users)")).fetchone()
        return bool(row and row[0])

    async def get(self, user_id: str) -> User | None:
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                f"SELECT {USER_COLUMNS} FROM users u WHERE u.user_id = %s AND u.disabled_at IS NULL",
                (user_id,),
            )).fetchone()
        return None if row is None else user(row)

    async def find_by_email(self, email: str) -> User | None:
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                f"SELECT {USER_COLUMNS} FROM users u WHERE u.email = %s AND u.disabled_at IS NULL",
                (email.strip().lower(),),
            )).fetchone()
        return None if row is None else user(row)

    async def create_first_owner(self, *, email: str, name: str, password: str, org_slug: str,
                                 org_name: str, ip: str = "") -> tuple[User, OrgRef]:
        """The first user and organisation of a fresh install; refused once any user exists."""
        email = normal_email(email)
        problem = passwords.check_policy(password)
        if problem:
            raise IdentityError(problem)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        user_id, org_id = str(uuid.uuid4()), str(uuid.uuid4())
        async with tenant_transaction(self._db, None) as conn:
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_FIRST_OWNER_LOCK,))
            taken = await (await conn.execute("SELECT EXISTS (SELECT 1 FROM users)")).fetchone()
            if taken and taken[0]:
                raise IdentityError("this installation already has users; sign in, or ask an owner to invite you")
            # An organisation made before anyone could sign in (``faramesh-cloud stacks register``
            # makes ``default``) has no members yet: its first owner adopts it, stacks and all.
            try:
                made = await (await conn.execute(
                    "INSERT INTO orgs (org_id, slug, name) VALUES (%s, %s, %s) ON CONFLICT (slug) DO NOTHING "
                    "RETURNING org_id", (org_id, org_slug, org_name))).fetchone()
            except pg_errors.CheckViolation:
                raise IdentityError(
                    f"organisation slug {org_slug!r} / name {org_name!r} rejected: a slug is 1-63 lower-case "
                    "letters, digits and inner hyphens; a name is 1-200 characters") from None
            if made is None:
                found = await (await conn.execute(
                    "SELECT org_id, name FROM orgs WHERE slug = %s", (org_slug,))).fetchone()
                assert found is not None
                org_id, org_name = str(found[0]), found[1]
            else:
                await claim_org(self._region, org_id, org_slug)
            await claim_person(self._region, email)
            try:
                row = await (await conn.execute(
                    "INSERT INTO users AS u (user_id, email, name, password_hash) VALUES (%s, %s, %s, %s) "
                    f"RETURNING {USER_COLUMNS}", (user_id, email, name.strip()[:200], password_hash),
                )).fetchone()
            except pg_errors.CheckViolation:
                raise IdentityError("the name is too long (at most 200 characters)") from None
            await enter_org(conn, org_id)
            await conn.execute(
                "INSERT INTO memberships (org_id, user_id, role, source) VALUES (%s, %s, 'owner', 'local')",
                (org_id, user_id))
            actor = Actor(ActorType.USER, user_id, email, ip)
            if made is not None:
                await self._audit.append_in(conn, org_id, AuditAction.ORG_CREATED, actor,
                                            target=Target("org", org_id), details={"slug": org_slug, "name": org_name})
            await self._audit.append_in(conn, org_id, AuditAction.MEMBER_ADDED, actor,
                                        target=Target("member", user_id),
                                        details={"email": email, "role": Role.OWNER.value, "via": "first owner"})
        assert row is not None
        return user(row), OrgRef(org_id, org_slug, org_name)

    async def lone_org(self) -> OrgRef | None:
        """The only organisation, when there is exactly one (what the first owner adopts)."""
        async with tenant_transaction(self._db, None) as conn:
            rows = await (await conn.execute("SELECT org_id, slug, name FROM orgs LIMIT 2")).fetchall()
        return OrgRef(str(rows[0][0]), rows[0][1], rows[0][2]) if len(rows) == 1 else None

    async def authenticate(self, email: str, password: str, ip: str) -> User:
        """The user whose email and password these are; ``LoginLocked`` while this (IP,
        email) pair is locked out; ``IdentityError`` for a wrong pair (never which half)."""
        email = email.strip().lower()
        locked = await self._throttle.locked_until(ip, email)
        if locked is not None:
            raise LoginLocked(_locked_message(locked), locked)
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                f"SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = %s "
                "AND u.disabled_at IS NULL", (email,),
            )).fetchone()
        stored = None if row is None else row[5]
        ok = await asyncio.to_thread(self._hasher.verify, stored, password)
        if not ok:
            locked = await self._throttle.record_failure(ip, email)
            if row is not None:
                attempt = Actor(ActorType.ANONYMOUS, "", email, ip)
                await self.audit_everywhere(str(row[0]), AuditAction.SESSION_LOGIN_FAILED, attempt,
                                            {"method": "password"})
                if locked is not None:
                    await self.audit_everywhere(str(row[0]), AuditAction.SESSION_LOCKED_OUT, attempt,
                                                {"locked_until": locked.isoformat()})
            if locked is not None:
                raise LoginLocked(_locked_message(locked), locked)
            raise IdentityError(_BAD_LOGIN)
        await self._throttle.clear(ip, email)
        assert row is not None and stored is not None
        if self._hasher.needs_rehash(stored):
            await self.set_password(str(row[0]), password)
        return user(row[:5])

    async def set_password(self, user_id: str, password: str) -> None:
        problem = passwords.check_policy(password)
        if problem:
            raise IdentityError(problem)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with tenant_transaction(self._db, None) as conn:
            await conn.execute("UPDATE users SET password_hash = %s WHERE user_id = %s", (password_hash, user_id))

    async def org_ids_of(self, user_id: str) -> list[str]:
        async with tenant_transaction(self._db, None, user_id=user_id) as conn:
            rows = await (await conn.execute(
                "SELECT org_id FROM memberships WHERE user_id = %s ORDER BY org_id", (user_id,),
            )).fetchall()
        return [str(r[0]) for r in rows]

    async def audit_everywhere(self, user_id: str, action: str, actor: Actor,
                               details: Mapping[str, Any] | None = None) -> None:
        """Append one entry to the log of every organisation the user belongs to."""
        for org_id in await self.org_ids_of(user_id):
            await self._audit.append(org_id, action, actor, target=Target("user", user_id), details=details)


def _locked_message(until: Any) -> str:
    return (f"too many failed sign-ins for this email from your address; sign-in is locked until "
            f"{until:%Y-%m-%d %H:%M} UTC. Wait until then, or ask an organisation admin to check the "
            "platform audit log")

"""Members of an organisation: roles, per-stack overrides, removal.

Rules beyond the role table: only an owner grants or takes away Owner, nobody grants more
than they hold (``Access.may_grant``), and an organisation always keeps at least one owner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors

from faramesh_cloud.identity.domain import (
    Forbidden,
    IdentityError,
    Member,
    Membership,
    NotFound,
    Principal,
)
from faramesh_cloud.identity.permissions import Access, Permission, Role, StackRole
from faramesh_cloud.identity.rows import ORG_COLUMNS, USER_COLUMNS, org, user, uuid_text
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_MEMBER: Final = f"SELECT {USER_COLUMNS}, m.role, m.source, m.created_at FROM memberships m " \
                 "JOIN users u ON u.user_id = m.user_id WHERE m.org_id = %s"


def _require(by: Principal, permission: Permission) -> None:
    if not by.access.allows(permission):
        raise Forbidden(f"your role ({by.access.role.label}) does not include {permission}; ask an owner or admin")


class MemberStore:
    def __init__(self, db: Database, audit: PlatformAuditLog) -> None:
        self._db = db
        self._audit = audit

    async def memberships_of(self, user_id: str) -> list[Membership]:
        """Every organisation the user belongs to, by name (the org switcher)."""
        async with tenant_transaction(self._db, None, user_id=user_id) as conn:
            rows = await (await conn.execute(
                f"SELECT {ORG_COLUMNS}, m.role FROM memberships m JOIN orgs o ON o.org_id = m.org_id "
                "WHERE m.user_id = %s ORDER BY o.name, o.slug", (user_id,),
            )).fetchall()
        return [Membership(org(r), Role(r[3])) for r in rows]

    async def access(self, org_id: str, user_id: str) -> Access | None:
        """The member's role and stack overrides in ``org_id``; None when not a member."""
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                "SELECT role FROM memberships WHERE org_id = %s AND user_id = %s", (org_id, user_id),
            )).fetchone()
            if row is None:
                return None
            overrides = await self._overrides(conn, org_id, user_id)
        return Access(Role(row[0]), overrides.get(user_id, {}))

    async def all(self, org_id: str) -> list[Member]:
        async with tenant_transaction(self._db, org_id) as conn:
            rows = await (await conn.execute(_MEMBER + " ORDER BY u.email", (org_id,))).fetchall()
            overrides = await self._overrides(conn, org_id, None)
        return [Member(org_id, user(r), Role(r[5]), r[6], r[7], overrides.get(str(r[0]), {})) for r in rows]

    async def get(self, org_id: str, user_id: str) -> Member:
        user_id = uuid_text(user_id, "member")
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(_MEMBER + " AND m.user_id = %s", (org_id, user_id))).fetchone()
            if row is None:
                raise NotFound(f"no member {user_id} in this organisation; list the members")
            overrides = await self._overrides(conn, org_id, user_id)
        return Member(org_id, user(row), Role(row[5]), row[6], row[7], overrides.get(user_id, {}))

    async def change_role(self, org_id: str, user_id: str, role: Role, by: Principal) -> Member:
        _require(by, Permission.ORG_MEMBER_MANAGE)
        member = await self.get(org_id, user_id)
        if member.role is role:
            return member
        if not by.access.may_grant(role) or not by.access.may_grant(member.role):
            raise Forbidden(f"a {by.access.role.label} cannot change a {member.role.label} to "
                            f"{role.label}; only an owner grants or removes Owner")
        async with tenant_transaction(self._db, org_id) as conn:
            await self._lock_owners(conn, org_id)
            if member.role is Role.OWNER:
                await self._keep_an_owner(conn, org_id, member.user.user_id)
            await conn.execute("UPDATE memberships SET role = %s WHERE org_id = %s AND user_id = %s",
                               (role.value, org_id, member.user.user_id))
            await self._audit.append_in(conn, org_id, AuditAction.MEMBER_ROLE_CHANGED, by.actor,
                                        target=Target("member", member.user.user_id),
                                        details={"email": member.user.email, "from": member.role.value,
                                                 "to": role.value})
        return await self.get(org_id, user_id)

    async def remove(self, org_id: str, user_id: str, by: Principal) -> None:
        _require(by, Permission.ORG_MEMBER_MANAGE)
        member = await self.get(org_id, user_id)
        if not by.access.may_grant(member.role):
            raise Forbidden(f"a {by.access.role.label} cannot remove a {member.role.label}; ask an owner")
        async with tenant_transaction(self._db, org_id) as conn:
            await self._lock_owners(conn, org_id)
            if member.role is Role.OWNER:
                await self._keep_an_owner(conn, org_id, member.user.user_id)
            await conn.execute("DELETE FROM memberships WHERE org_id = %s AND user_id = %s",
                               (org_id, member.user.user_id))
            await self._audit.append_in(conn, org_id, AuditAction.MEMBER_REMOVED, by.actor,
                                        target=Target("member", member.user.user_id),
                                        details={"email": member.user.email, "role": member.role.value})

    async def set_stack_role(self, org_id: str, user_id: str, stack_id: str, role: StackRole | None,
                             by: Principal) -> Member:
        """Override the member's role on one stack (None removes the override)."""
        _require(by, Permission.ORG_MEMBER_MANAGE)
        member = await self.get(org_id, user_id)
        stack_id = uuid_text(stack_id, "stack")
        if role is not None and role is not StackRole.NONE and not by.access.may_grant(Role(role.value)):
            raise Forbidden(f"a {by.access.role.label} cannot grant {role.value} on a stack")
        async with tenant_transaction(self._db, org_id) as conn:
            stack = await (await conn.execute(
                "SELECT name FROM stacks WHERE org_id = %s AND stack_id = %s", (org_id, stack_id),
            )).fetchone()
            if stack is None:
                raise NotFound(f"no stack {stack_id} in this organisation; pick one from the stack list")
            details = {"email": member.user.email, "stack_id": stack_id, "stack": stack[0]}
            if role is None:
                await conn.execute(
                    "DELETE FROM stack_role_overrides WHERE org_id = %s AND user_id = %s AND stack_id = %s",
                    (org_id, member.user.user_id, stack_id))
                action = AuditAction.STACK_OVERRIDE_REMOVED
            else:
                await conn.execute(
                    "INSERT INTO stack_role_overrides (org_id, user_id, stack_id, role) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (org_id, user_id, stack_id) DO UPDATE SET role = EXCLUDED.role",
                    (org_id, member.user.user_id, stack_id, role.value))
                action, details = AuditAction.STACK_OVERRIDE_SET, {**details, "role": role.value}
            await self._audit.append_in(conn, org_id, action, by.actor,
                                        target=Target("member", member.user.user_id), details=details)
        return await self.get(org_id, user_id)

    async def add_in(self, conn: psycopg.AsyncConnection[Any], org_id: str, user_id: str, email: str,
                     role: Role, source: str, actor: Actor, details: Mapping[str, Any]) -> None:
        """Add a member inside the caller's tenant transaction (invitations, SSO)."""
        try:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO memberships (org_id, user_id, role, source) VALUES (%s, %s, %s, %s)",
                    (org_id, user_id, role.value, source))
        except pg_errors.UniqueViolation:
            raise IdentityError("you are already a member of this organisation; sign in instead") from None
        await self._audit.append_in(conn, org_id, AuditAction.MEMBER_ADDED, actor, target=Target("member", user_id),
                                    details={"email": email, "role": role.value, **details})

    @staticmethod
    async def _overrides(conn: psycopg.AsyncConnection[Any], org_id: str,
                         user_id: str | None) -> dict[str, dict[str, StackRole]]:
        sql = "SELECT user_id, stack_id, role FROM stack_role_overrides WHERE org_id = %s"
        params: list[Any] = [org_id]
        if user_id is not None:
            sql += " AND user_id = %s"
            params.append(user_id)
        out: dict[str, dict[str, StackRole]] = {}
        for uid, sid, role in await (await conn.execute(sql, params)).fetchall():
            out.setdefault(str(uid), {})[str(sid)] = StackRole(role)
        return out

    @staticmethod
    async def _lock_owners(conn: psycopg.AsyncConnection[Any], org_id: str) -> None:
        await conn.execute("SELECT user_id FROM memberships WHERE org_id = %s AND role = 'owner' FOR UPDATE",
                           (org_id,))

    @staticmethod
    async def _keep_an_owner(conn: psycopg.AsyncConnection[Any], org_id: str, leaving: str) -> None:
        row = await (await conn.execute(
            "SELECT count(*) FROM memberships WHERE org_id = %s AND role = 'owner' AND user_id <> %s",
            (org_id, leaving),
        )).fetchone()
        if not row or int(row[0]) == 0:
            raise IdentityError("an organisation needs at least one owner; make someone else owner first")

"""Groups of members (Settings → Members → Groups): routing rules and escalation steps can
notify a group, which reaches each of its members by email.

A membership is manual (a person added it) or synced (``sso``): at each SSO sign-in the
values of the IdP's groups claim (the SSO role claim, ``groups`` by default) that an admin
mapped to Cloud groups set the member's synced groups exactly. The two kinds are separate
rows, so sync never removes a membership someone added by hand, and removing the manual
membership of a synced member leaves the synced one (it goes when the IdP stops saying so).
Every change is in the platform audit log, in the change's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors

from faramesh_cloud.identity.domain import Forbidden, IdentityError, NotFound, Principal
from faramesh_cloud.identity.permissions import Permission
from faramesh_cloud.identity.rows import uuid_text
from faramesh_cloud.platform_audit.events import Actor, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

MANUAL: Final = "manual"
SSO: Final = "sso"
SYNC_ACTOR: Final = "sso groups claim"
MAX_MAPPINGS: Final = 50

Conn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, slots=True)
class GroupMember:
    user_id: str
    email: str
    sources: tuple[str, ...]  # "manual", "sso" or both

    @property
    def synced(self) -> bool:
        return SSO in self.sources

    @property
    def manual(self) -> bool:
        return MANUAL in self.sources


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    org_id: str
    name: str
    description: str
    created_at: datetime
    members: tuple[GroupMember, ...] = ()
    sso_claims: tuple[str, ...] = ()  # IdP group names synced into this group

    def emails(self) -> list[str]:
        return [m.email for m in self.members]


@dataclass(frozen=True, slots=True)
class GroupChange:
    """What one SSO sign-in's sync did to a member's synced groups (group names)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


def _require(by: Principal, permission: Permission) -> None:
    if not by.access.allows(permission):
        raise Forbidden(f"your role ({by.access.role.label}) does not include {permission}; ask an owner or admin")


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise IdentityError("give the group a name (1-100 characters), e.g. payments-oncall")
    return name


def claim_values(claims: Mapping[str, object], claim: str) -> set[str]:
    raw = claims.get(claim)
    values = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else []
    return {v for v in values if isinstance(v, str) and v}


class GroupStore:
    def __init__(self, db: Database, audit: PlatformAuditLog) -> None:
        self._db = db
        self._audit = audit

    async def all(self, org_id: str) -> list[Group]:
        async with tenant_transaction(self._db, org_id) as conn:
            return await self._groups(conn, org_id, None)

    async def get(self, org_id: str, group_id: str) -> Group:
        group_id = uuid_text(group_id, "group")
        async with tenant_transaction(self._db, org_id) as conn:
            found = await self._groups(conn, org_id, group_id)
        if not found:
            raise NotFound(f"no group {group_id} in this organisation; list the groups")
        return found[0]

    async def member_emails(self, org_id: str, group_ids: Iterable[str]) -> dict[str, list[str]]:
        async with tenant_transaction(self._db, org_id) as conn:
            return await member_emails_in(conn, org_id, group_ids)

    async def create(self, org_id: str, name: str, description: str, by: Principal) -> Group:
        _require(by, Permission.ORG_MEMBER_MANAGE)
        name = _name(name)
        description = description.strip()
        if len(description) > 500:
            raise IdentityError("a group's description is at most 500 characters")
        group_id = str(uuid.uuid4())
        try:
            async with tenant_transaction(self._db, org_id) as conn:
                await conn.execute("INSERT INTO org_groups (org_id, group_id, name, description) "
                                   "VALUES (%s, %s, %s, %s)", (org_id, group_id, name, description))
                await self._audit.append_in(conn, org_id, AuditAction.GROUP_CREATED, by.actor,
                                            target=Target("group", group_id),
                                            details={"name": name, "description": description})
        except pg_errors.UniqueViolation:
            raise IdentityError(f"a group named {name!r} exists already; pick another name") from None
        return await self.get(org_id, group_id)

    async def delete(self, org_id: str, group_id: str, by: Principal) -> Group:
        _require(by, Permission.ORG_MEMBER_MANAGE)
        group = await self.get(org_id, group_id)
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute("DELETE FROM org_groups WHERE org_id = %s AND group_id = %s", (org_id, group.group_id))
            await self._audit.append_in(conn, org_id, AuditAction.GROUP_DELETED, by.actor,
                                        target=Target("group", group.group_id),
                                        details={"name": group.name, "members": group.emails()})
        return group

    async def add_member(self, org_id: str, group_id: str, user_id: str, by: Principal) -> Group:
        _require(by, Permission.ORG_MEMBER_MANAGE)
        group = await self.get(org_id, group_id)
        user_id = uuid_text(user_id, "member")
        async with tenant_transaction(self._db, org_id) as conn:
            person = await (await conn.execute(
                "SELECT u.email FROM memberships m JOIN users u ON u.user_id = m.user_id "
                "WHERE m.org_id = %s AND m.user_id = %s", (org_id, user_id))).fetchone()
            if person is None:
                raise NotFound(f"no member {user_id} in this organisation; list the members")
            added = await (await conn.execute(
                "INSERT INTO group_members (org_id, group_id, user_id, source) VALUES (%s, %s, %s, 'manual') "
                "ON CONFLICT DO NOTHING RETURNING user_id", (org_id, group.group_id, user_id))).fetchone()
            if added is not None:
                await self._audit.append_in(conn, org_id, AuditAction.GROUP_MEMBER_ADDED, by.actor,
                                            target=Target("group", group.group_id),
                                            details={"group": group.name, "email": person[0], "source": MANUAL})
        return await self.get(org_id, group.group_id)

    async def remove_member(self, org_id: str, group_id: str, user_id: str, by: Principal) -> Group:
        """Remove the manual membership; a synced one is the IdP's to change."""
        _require(by, Permission.ORG_MEMBER_MANAGE)
        group = await self.get(org_id, group_id)
        user_id = uuid_text(user_id, "member")
        present = next((m for m in group.members if m.user_id == user_id), None)
        if present is None:
            raise NotFound(f"{user_id} is not in the group {group.name}")
        if not present.manual:
            raise IdentityError(f"{present.email} is in {group.name} through the SSO groups claim; remove them "
                                "from the group in your identity provider or change the group's SSO mapping")
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute("DELETE FROM group_members WHERE org_id = %s AND group_id = %s AND user_id = %s "
                               "AND source = 'manual'", (org_id, group.group_id, user_id))
            await self._audit.append_in(conn, org_id, AuditAction.GROUP_MEMBER_REMOVED, by.actor,
                                        target=Target("group", group.group_id),
                                        details={"group": group.name, "email": present.email, "source": MANUAL})
        return await self.get(org_id, group.group_id)

    async def set_sso_claims(self, org_id: str, group_id: str, claims: Iterable[str], by: Principal) -> Group:
        """Which IdP group names sync into this group (replaces the list; takes effect at each
        member's next SSO sign-in)."""
        _require(by, Permission.ORG_SSO_MANAGE)
        group = await self.get(org_id, group_id)
        values = sorted({c.strip() for c in claims if c.strip()})
        if len(values) > MAX_MAPPINGS or any(len(v) > 200 for v in values):
            raise IdentityError(f"map at most {MAX_MAPPINGS} IdP group names, each at most 200 characters")
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute("DELETE FROM sso_group_mappings WHERE org_id = %s AND group_id = %s",
                               (org_id, group.group_id))
            for value in values:
                await conn.execute("INSERT INTO sso_group_mappings (org_id, claim_value, group_id) "
                                   "VALUES (%s, %s, %s)", (org_id, value, group.group_id))
            await self._audit.append_in(conn, org_id, AuditAction.GROUP_SSO_MAPPING_CHANGED, by.actor,
                                        target=Target("group", group.group_id),
                                        details={"group": group.name, "from": list(group.sso_claims),
                                                 "to": values})
        return await self.get(org_id, group.group_id)

    async def sync_in(self, conn: Conn, org_id: str, user_id: str, email: str,
                      values: set[str]) -> GroupChange:
        """Set the member's synced groups from the claim's values, inside the sign-in's
        transaction; manual memberships are not touched."""
        rows = await (await conn.execute(
            "SELECT DISTINCT g.group_id, g.name FROM sso_group_mappings s JOIN org_groups g "
            "ON g.org_id = s.org_id AND g.group_id = s.group_id WHERE s.org_id = %s AND s.claim_value = ANY(%s)",
            (org_id, sorted(values)))).fetchall()
        target = {str(gid): name for gid, name in rows}
        current = {str(gid): name for gid, name in await (await conn.execute(
            "SELECT g.group_id, g.name FROM group_members gm JOIN org_groups g "
            "ON g.org_id = gm.org_id AND g.group_id = gm.group_id "
            "WHERE gm.org_id = %s AND gm.user_id = %s AND gm.source = 'sso'", (org_id, user_id))).fetchall()}
        added = sorted(set(target) - set(current), key=lambda g: target[g])
        removed = sorted(set(current) - set(target), key=lambda g: current[g])
        actor = Actor.system(SYNC_ACTOR)
        for gid in added:
            await conn.execute("INSERT INTO group_members (org_id, group_id, user_id, source) "
                               "VALUES (%s, %s, %s, 'sso') ON CONFLICT DO NOTHING", (org_id, gid, user_id))
            await self._audit.append_in(conn, org_id, AuditAction.GROUP_MEMBER_ADDED, actor,
                                        target=Target("group", gid),
                                        details={"group": target[gid], "email": email, "source": SSO})
        for gid in removed:
            await conn.execute("DELETE FROM group_members WHERE org_id = %s AND group_id = %s AND user_id = %s "
                               "AND source = 'sso'", (org_id, gid, user_id))
            await self._audit.append_in(conn, org_id, AuditAction.GROUP_MEMBER_REMOVED, actor,
                                        target=Target("group", gid),
                                        details={"group": current[gid], "email": email, "source": SSO})
        return GroupChange(tuple(target[g] for g in added), tuple(current[g] for g in removed))

    @staticmethod
    async def _groups(conn: Conn, org_id: str, group_id: str | None) -> list[Group]:
        where, params = "WHERE g.org_id = %s", [org_id]
        if group_id is not None:
            where += " AND g.group_id = %s"
            params.append(group_id)
        groups = await (await conn.execute(
            f"SELECT g.group_id, g.name, g.description, g.created_at FROM org_groups g {where} "
            "ORDER BY lower(g.name)", params)).fetchall()
        members = await (await conn.execute(
            "SELECT gm.group_id, gm.user_id, u.email, array_agg(gm.source ORDER BY gm.source) "
            f"FROM group_members gm JOIN users u ON u.user_id = gm.user_id "
            f"JOIN org_groups g ON g.org_id = gm.org_id AND g.group_id = gm.group_id {where} "
            "GROUP BY gm.group_id, gm.user_id, u.email ORDER BY u.email", params)).fetchall()
        claims = await (await conn.execute(
            f"SELECT s.group_id, s.claim_value FROM sso_group_mappings s JOIN org_groups g "
            f"ON g.org_id = s.org_id AND g.group_id = s.group_id {where} ORDER BY s.claim_value", params)).fetchall()
        by_group: dict[str, list[GroupMember]] = {}
        for gid, uid, email, sources in members:
            by_group.setdefault(str(gid), []).append(GroupMember(str(uid), email, tuple(sources)))
        claims_of: dict[str, list[str]] = {}
        for gid, value in claims:
            claims_of.setdefault(str(gid), []).append(value)
        return [Group(str(gid), org_id, name, description, created,
                      tuple(by_group.get(str(gid), ())), tuple(claims_of.get(str(gid), ())))
                for gid, name, description, created in groups]


# The read port other components use inside their own transaction (notifications, when it
# routes a step that names groups, and when a rule is set): one organisation per call.
async def group_names_in(conn: Conn, org_id: str) -> dict[str, str]:
    """The organisation's groups: id -> name."""
    rows = await (await conn.execute("SELECT group_id, name FROM org_groups WHERE org_id = %s ORDER BY lower(name)",
                                     (org_id,))).fetchall()
    return {str(gid): name for gid, name in rows}


async def member_emails_in(conn: Conn, org_id: str, group_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each group's members' emails (sorted; disabled users left out); unknown ids (or another
    organisation's) map to nothing."""
    wanted = sorted(g for g in {str(x) for x in group_ids} if _is_uuid(g))
    if not wanted:
        return {}
    rows = await (await conn.execute(
        "SELECT DISTINCT gm.group_id, u.email FROM group_members gm JOIN users u ON u.user_id = gm.user_id "
        "WHERE gm.org_id = %s AND gm.group_id = ANY(%s::uuid[]) AND u.disabled_at IS NULL "
        "ORDER BY u.email", (org_id, wanted))).fetchall()
    out: dict[str, list[str]] = {}
    for gid, email in rows:
        out.setdefault(str(gid), []).append(email)
    return out


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True

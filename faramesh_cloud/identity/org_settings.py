"""Settings → Organization: name, slug, OIDC single sign-on and its attribute mapping.

The SSO client secret is write-only through this API: reads say whether one is set, never
what it is. Attribute mapping: the values of one claim (``groups`` by default) map to roles;
a user whose claims match several gets the highest; none matching gets ``default_role``
(or is turned away when there is none). SSO never grants Owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from psycopg import errors as pg_errors

from faramesh_cloud.directory.region import Region
from faramesh_cloud.identity.claims import claim_org
from faramesh_cloud.identity.domain import (
    Forbidden,
    IdentityError,
    NotFound,
    OrgRef,
    Principal,
    User,
)
from faramesh_cloud.identity.permissions import ROLE_RANK, Permission, Role
from faramesh_cloud.identity.rows import ORG_COLUMNS, org
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

SSO_ROLES: Final = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR, Role.VIEWER)


@dataclass(frozen=True, slots=True)
class SsoConfig:
    enabled: bool = False
    issuer: str = ""
    client_id: str = ""
    client_secret: str = ""
    scopes: str = "openid email profile"
    role_claim: str = "groups"
    default_role: Role | None = None
    mappings: Mapping[str, Role] = field(default_factory=dict)
    updated_at: datetime | None = None

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret)

    def role_for(self, claims: Mapping[str, object]) -> Role | None:
        """The role the claims map to (highest match), else ``default_role``."""
        raw = claims.get(self.role_claim)
        values = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else []
        matched = [self.mappings[v] for v in values if isinstance(v, str) and v in self.mappings]
        if matched:
            return max(matched, key=lambda r: ROLE_RANK[r])
        return self.default_role


class OrgSettingsStore:
    def __init__(self, db: Database, audit: PlatformAuditLog, region: Region | None = None) -> None:
        self._db = db
        self._region = region
        self._audit = audit

    async def by_slug(self, slug: str) -> OrgRef | None:
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(f"SELECT {ORG_COLUMNS} FROM orgs o WHERE o.slug = %s", (slug,))).fetchone()
        return None if row is None else org(row)

    async def create(self, slug: str, name: str, owner: User, ip: str = "") -> OrgRef:
        """A new organisation with ``owner`` as its first owner (any signed-in user may make one)."""
        org_id = str(uuid.uuid4())
        actor = Actor(ActorType.USER, owner.user_id, owner.email, ip)
        await claim_org(self._region, org_id, slug.strip())
        try:
            async with tenant_transaction(self._db, org_id) as conn:
                await conn.execute("INSERT INTO orgs (org_id, slug, name) VALUES (%s, %s, %s)",
                                   (org_id, slug.strip(), name.strip()))
                await conn.execute(
                    "INSERT INTO memberships (org_id, user_id, role, source) VALUES (%s, %s, 'owner', 'local')",
                    (org_id, owner.user_id))
                await self._audit.append_in(conn, org_id, AuditAction.ORG_CREATED, actor, target=Target("org", org_id),
                                            details={"slug": slug.strip(), "name": name.strip()})
                await self._audit.append_in(conn, org_id, AuditAction.MEMBER_ADDED, actor,
                                            target=Target("member", owner.user_id),
                                            details={"email": owner.email, "role": Role.OWNER.value})
        except pg_errors.UniqueViolation:
            raise IdentityError(f"the slug {slug!r} is taken by another organisation; pick another") from None
        except pg_errors.CheckViolation:
            raise IdentityError("a slug is 1-63 lower-case letters, digits and inner hyphens; a name is "
                                "1-200 characters") from None
        return OrgRef(org_id, slug.strip(), name.strip())

    async def update(self, org_id: str, *, name: str, slug: str, by: Principal) -> OrgRef:
        if not by.access.allows(Permission.ORG_SETTINGS_MANAGE):
            raise Forbidden(f"your role ({by.access.role.label}) cannot change organisation settings")
        try:
            async with tenant_transaction(self._db, org_id) as conn:
                before = await (await conn.execute(
                    f"SELECT {ORG_COLUMNS} FROM orgs o WHERE o.org_id = %s FOR UPDATE", (org_id,))).fetchone()
                if before is None:
                    raise NotFound("this organisation does not exist")
                row = await (await conn.execute(
                    f"UPDATE orgs o SET name = %s, slug = %s WHERE o.org_id = %s RETURNING {ORG_COLUMNS}",
                    (name.strip(), slug.strip(), org_id))).fetchone()
                assert row is not None
                changes = {k: {"from": before[i], "to": row[i]} for i, k in ((1, "slug"), (2, "name"))
                           if before[i] != row[i]}
                if changes:
                    await self._audit.append_in(conn, org_id, AuditAction.ORG_SETTINGS_CHANGED, by.actor,
                                                target=Target("org", org_id), details=changes)
        except pg_errors.UniqueViolation:
            raise IdentityError(f"the slug {slug!r} is taken by another organisation; pick another") from None
        except pg_errors.CheckViolation:
            raise IdentityError("a slug is 1-63 lower-case letters, digits and inner hyphens; a name is "
                                "1-200 characters") from None
        return org(row)

    async def sso(self, org_id: str) -> SsoConfig:
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                "SELECT enabled, issuer, client_id, client_secret, scopes, role_claim, default_role, updated_at "
                "FROM org_sso WHERE org_id = %s", (org_id,))).fetchone()
            maps = await (await conn.execute(
                "SELECT claim_value, role FROM sso_role_mappings WHERE org_id = %s ORDER BY claim_value",
                (org_id,))).fetchall()
        mappings = {str(v): Role(r) for v, r in maps}
        if row is None:
            return SsoConfig(mappings=mappings)
        return SsoConfig(bool(row[0]), row[1], row[2], row[3], row[4], row[5],
                         Role(row[6]) if row[6] else None, mappings, row[7])

    async def set_sso(self, org_id: str, config: SsoConfig, by: Principal, *, keep_secret: bool) -> SsoConfig:
        """Replace the SSO configuration and mapping (``keep_secret``: an empty
        ``client_secret`` keeps the stored one)."""
        if not by.access.allows(Permission.ORG_SSO_MANAGE):
            raise Forbidden(f"your role ({by.access.role.label}) cannot configure SSO; only owners can")
        if config.enabled and not (config.issuer.startswith(("https://", "http://")) and config.client_id):
            raise IdentityError("to enable SSO, give the issuer URL (https://...) and the client id")
        if "openid" not in config.scopes.split():
            raise IdentityError("the scopes must include 'openid'")
        bad = [r for r in (*config.mappings.values(), config.default_role) if r is not None and r not in SSO_ROLES]
        if bad:
            raise IdentityError("SSO maps to Admin, Operator, Auditor or Viewer, never Owner; make owners by hand")
        async with tenant_transaction(self._db, org_id) as conn:
            await conn.execute(
                "INSERT INTO org_sso (org_id, enabled, issuer, client_id, client_secret, scopes, role_claim, "
                "default_role) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (org_id) DO UPDATE SET "
                "enabled = EXCLUDED.enabled, issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id, "
                "client_secret = CASE WHEN %s AND EXCLUDED.client_secret = '' THEN org_sso.client_secret "
                "ELSE EXCLUDED.client_secret END, scopes = EXCLUDED.scopes, role_claim = EXCLUDED.role_claim, "
                "default_role = EXCLUDED.default_role, updated_at = now()",
                (org_id, config.enabled, config.issuer.strip().rstrip("/"), config.client_id.strip(),
                 config.client_secret, config.scopes.strip(), config.role_claim.strip() or "groups",
                 config.default_role.value if config.default_role else None, keep_secret))
            await conn.execute("DELETE FROM sso_role_mappings WHERE org_id = %s", (org_id,))
            for value, role in config.mappings.items():
                await conn.execute(
                    "INSERT INTO sso_role_mappings (org_id, claim_value, role) VALUES (%s, %s, %s)",
                    (org_id, value, role.value))
            await self._audit.append_in(conn, org_id, AuditAction.SSO_SETTINGS_CHANGED, by.actor,
                                        target=Target("org", org_id), details={
                                            "enabled": config.enabled, "issuer": config.issuer,
                                            "client_id": config.client_id, "role_claim": config.role_claim,
                                            "default_role": config.default_role.value if config.default_role else None,
                                            "mappings": {k: v.value for k, v in config.mappings.items()},
                                            "secret_changed": bool(config.client_secret) or not keep_secret})
        return await self.sso(org_id)

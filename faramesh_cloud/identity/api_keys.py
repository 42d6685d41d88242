"""Platform API keys: programmatic access to one organisation with one role.

A key never holds more than the member who made it (``Access.may_grant``); revoking ends it
at once. Authentication looks the key up by its random id only (a ``SECURITY DEFINER``
function, since the organisation is what it is trying to find out) and compares the
secret's digest in constant time.
"""

from __future__ import annotations

import hmac
from typing import Any, Final

from psycopg import errors as pg_errors

from faramesh_cloud.identity.domain import (
    ApiKey,
    Forbidden,
    IdentityError,
    NotFound,
    OrgRef,
    Principal,
)
from faramesh_cloud.identity.permissions import Permission, Role
from faramesh_cloud.identity.rows import ORG_COLUMNS, org
from faramesh_cloud.identity.tokens import API_KEY_PREFIX, digest, new_api_key, parse_api_key
from faramesh_cloud.platform_audit.events import AuditAction, Target
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_COLUMNS: Final = "key_id, org_id, name, role, created_at, last_used_at, revoked_at"
_DUMMY: Final = bytes(32)


def _key(row: tuple[Any, ...]) -> ApiKey:
    return ApiKey(row[0], str(row[1]), row[2], Role(row[3]), f"{API_KEY_PREFIX}{row[0]}", row[4], row[5], row[6])


class ApiKeyStore:
    def __init__(self, db: Database, audit: PlatformAuditLog) -> None:
        self._db = db
        self._audit = audit

    async def create(self, org_id: str, name: str, role: Role, by: Principal) -> tuple[ApiKey, str]:
        """A new key; returns it and its plaintext, which exists only in this return value."""
        if not by.access.allows(Permission.ORG_APIKEY_MANAGE):
            raise Forbidden(f"your role ({by.access.role.label}) cannot manage API keys; ask an owner or admin")
        if not by.access.may_grant(role):
            raise Forbidden(f"a {by.access.role.label} cannot create a key with role {role.label}; "
                            "pick a role no higher than your own")
        parts, plaintext = new_api_key()
        try:
            async with tenant_transaction(self._db, org_id) as conn:
                row = await (await conn.execute(
                    "INSERT INTO platform_api_keys (key_id, org_id, name, role, secret_sha256, created_by) "
                    f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
                    (parts.key_id, org_id, name.strip(), role.value, digest(parts.secret),
                     by.user.user_id if by.user else None),
                )).fetchone()
                assert row is not None
                await self._audit.append_in(conn, org_id, AuditAction.API_KEY_CREATED, by.actor,
                                            target=Target("api_key", parts.key_id),
                                            details={"name": name.strip(), "role": role.value})
        except pg_errors.CheckViolation:
            raise IdentityError("an API key name is 1-100 characters; enter a name") from None
        return _key(row), plaintext

    async def all(self, org_id: str) -> list[ApiKey]:
        async with tenant_transaction(self._db, org_id) as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM platform_api_keys WHERE org_id = %s ORDER BY created_at DESC, key_id",
                (org_id,),
            )).fetchall()
        return [_key(r) for r in rows]

    async def revoke(self, org_id: str, key_id: str, by: Principal) -> ApiKey:
        if not by.access.allows(Permission.ORG_APIKEY_MANAGE):
            raise Forbidden(f"your role ({by.access.role.label}) cannot manage API keys; ask an owner or admin")
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                "UPDATE platform_api_keys SET revoked_at = COALESCE(revoked_at, now()) "
                f"WHERE org_id = %s AND key_id = %s RETURNING {_COLUMNS}", (org_id, key_id),
            )).fetchone()
            if row is None:
                raise NotFound(f"no API key {key_id!r} in this organisation; list the keys")
            await self._audit.append_in(conn, org_id, AuditAction.API_KEY_REVOKED, by.actor,
                                        target=Target("api_key", key_id), details={"name": row[2]})
        return _key(row)

    async def authenticate(self, plaintext: str) -> tuple[ApiKey, OrgRef] | None:
        """The live key and its organisation, or None (malformed, unknown, revoked)."""
        parts = parse_api_key(plaintext)
        if parts is None:
            return None
        async with tenant_transaction(self._db, None) as conn:
            found = await (await conn.execute(
                "SELECT org_id, secret_sha256 FROM identity_find_api_key(%s) "
                "WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())", (parts.key_id,),
            )).fetchone()
            stored = bytes(found[1]) if found is not None else _DUMMY
            if not hmac.compare_digest(digest(parts.secret), stored) or found is None:
                return None
            await conn.execute("SELECT set_config('app.org_id', %s, true)", (str(found[0]),))
            row = await (await conn.execute(
                "UPDATE platform_api_keys SET last_used_at = now() WHERE org_id = %s AND key_id = %s "
                f"RETURNING {_COLUMNS}", (found[0], parts.key_id),
            )).fetchone()
            org_row = await (await conn.execute(
                f"SELECT {ORG_COLUMNS} FROM orgs o WHERE o.org_id = %s", (found[0],))).fetchone()
        assert row is not None and org_row is not None
        return _key(row), org(org_row)

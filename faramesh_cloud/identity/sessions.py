"""Server-side sessions: a random id in the cookie, only its SHA-256 in the database.

A session ends ``session_ttl_s`` after sign-in, after ``session_idle_s`` without a request,
or when revoked (sign-out, or every session of a user at once). Each session has its own
CSRF token, which every form and every cookie-authenticated unsafe API call must return.
"""

from __future__ import annotations

from typing import Any, Final

from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.identity.domain import Session, User
from faramesh_cloud.identity.rows import USER_COLUMNS, user
from faramesh_cloud.identity.tokens import digest, new_secret, well_formed_secret
from faramesh_cloud.platform_audit.events import Actor, ActorType, AuditAction
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction

_SESSION_COLUMNS: Final = "s.csrf_token, s.auth_method, s.created_at, s.expires_at"


class SessionStore:
    def __init__(self, db: Database, config: IdentityConfig, users: Any) -> None:
        self._db = db
        self._config = config
        self._users = users  # UserStore: sign-in and sign-out go to the user's organisations' logs

    async def create(self, signed_in: User, *, method: str, ip: str = "", user_agent: str = "") -> tuple[str, Session]:
        """Start a session; returns the cookie value (exists only here) and the session."""
        secret = new_secret()
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                "INSERT INTO sessions AS s (session_sha256, user_id, csrf_token, auth_method, ip, user_agent, "
                "idle_expires_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, "
                "now() + make_interval(secs => %s), now() + make_interval(secs => %s)) "
                f"RETURNING {_SESSION_COLUMNS}",
                (digest(secret), signed_in.user_id, new_secret(), method, ip[:100], user_agent[:300],
                 min(self._config.session_idle_s, self._config.session_ttl_s), self._config.session_ttl_s),
            )).fetchone()
        assert row is not None
        await self._users.audit_everywhere(
            signed_in.user_id, AuditAction.SESSION_LOGIN,
            Actor(ActorType.USER, signed_in.user_id, signed_in.email, ip), {"method": method})
        return secret, Session(signed_in, row[0], row[1], row[2], row[3])

    async def lookup(self, cookie: str) -> Session | None:
        """The live session for a cookie value (extending its idle deadline), or None."""
        if not well_formed_secret(cookie):
            return None
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                "UPDATE sessions s SET last_seen_at = now(), "
                "idle_expires_at = LEAST(s.expires_at, now() + make_interval(secs => %s)) "
                "FROM users u WHERE s.session_sha256 = %s AND u.user_id = s.user_id "
                "AND s.revoked_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now() "
                f"AND u.disabled_at IS NULL RETURNING {_SESSION_COLUMNS}, {USER_COLUMNS}",
                (self._config.session_idle_s, digest(cookie)),
            )).fetchone()
        if row is None:
            return None
        return Session(user(row[4:]), row[0], row[1], row[2], row[3])

    async def revoke(self, cookie: str, *, ip: str = "") -> None:
        """Sign out: the session stops working at once. Unknown cookies are ignored."""
        if not well_formed_secret(cookie):
            return
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                "UPDATE sessions s SET revoked_at = now() FROM users u WHERE s.session_sha256 = %s "
                "AND s.revoked_at IS NULL AND u.user_id = s.user_id RETURNING u.user_id, u.email",
                (digest(cookie),),
            )).fetchone()
        if row is not None:
            await self._users.audit_everywhere(
                str(row[0]), AuditAction.SESSION_LOGOUT, Actor(ActorType.USER, str(row[0]), row[1], ip))

    async def revoke_all(self, user_id: str) -> int:
        async with tenant_transaction(self._db, None) as conn:
            cur = await conn.execute(
                "UPDATE sessions SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL", (user_id,))
        return cur.rowcount

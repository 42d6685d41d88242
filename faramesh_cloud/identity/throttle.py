"""Password sign-in throttling per (client IP, email), kept in PostgreSQL so every gateway
process agrees. After ``max_failures`` failures within ``failure_window_s`` the pair is
locked for ``lockout_s``; a successful sign-in clears it."""

from __future__ import annotations

import hashlib
from datetime import datetime

from faramesh_cloud.identity.config import IdentityConfig
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction


def throttle_key(ip: str, email: str) -> bytes:
    return hashlib.sha256(f"{ip}\x00{email.strip().lower()}".encode()).digest()


class LoginThrottle:
    def __init__(self, db: Database, config: IdentityConfig) -> None:
        self._db = db
        self._config = config

    async def locked_until(self, ip: str, email: str) -> datetime | None:
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                "SELECT locked_until FROM login_throttle WHERE throttle_key = %s AND locked_until > now()",
                (throttle_key(ip, email),),
            )).fetchone()
        return None if row is None else row[0]

    async def record_failure(self, ip: str, email: str) -> datetime | None:
        """Count a failure; returns the lock's end when this failure locks the pair."""
        c = self._config
        async with tenant_transaction(self._db, None) as conn:
            row = await (await conn.execute(
                "INSERT INTO login_throttle AS t (throttle_key, failures, window_start) VALUES (%s, 1, now()) "
                "ON CONFLICT (throttle_key) DO UPDATE SET "
                "  failures = CASE WHEN t.window_start < now() - make_interval(secs => %s) "
                "                  OR t.locked_until <= now() THEN 1 ELSE t.failures + 1 END, "
                "  window_start = CASE WHEN t.window_start < now() - make_interval(secs => %s) "
                "                  OR t.locked_until <= now() THEN now() ELSE t.window_start END, "
                "  locked_until = CASE WHEN t.locked_until <= now() THEN NULL ELSE t.locked_until END "
                "RETURNING failures",
                (throttle_key(ip, email), c.failure_window_s, c.failure_window_s),
            )).fetchone()
            assert row is not None
            if int(row[0]) < c.max_failures:
                return None
            locked = await (await conn.execute(
                "UPDATE login_throttle SET locked_until = now() + make_interval(secs => %s) "
                "WHERE throttle_key = %s RETURNING locked_until",
                (c.lockout_s, throttle_key(ip, email)),
            )).fetchone()
        assert locked is not None
        return locked[0]

    async def clear(self, ip: str, email: str) -> None:
        async with tenant_transaction(self._db, None) as conn:
            await conn.execute("DELETE FROM login_throttle WHERE throttle_key = %s", (throttle_key(ip, email),))

"""``PostgresDirectory``: the directory in its own PostgreSQL database (``directory_postgres_url``).

One small database shared by every region; its tables are created by this package's own
migrations (component ``directory``), applied by the region's processes that use it, at
start-up or, when it was unreachable then, on first use. Every
statement is a primary-key insert or probe. Connection failures are
:class:`~faramesh_cloud.directory.port.DirectoryUnavailable`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

from faramesh_cloud.directory.port import COMPONENT, DirectoryUnavailable, Taken
from faramesh_cloud.sql.database import Database, DatabaseUnavailable, redact
from faramesh_cloud.sql.migrate import migrate


class PostgresDirectory:
    """Owns its connection pool, opened (and the migrations applied) by :meth:`start` or, when
    the directory was unreachable then, by the first call after it is back: a region starts
    and serves its own organisations while the directory is down."""

    def __init__(self, url: str, *, timeout_s: float = 5.0, max_size: int = 4) -> None:
        self._url = url
        self._timeout_s = timeout_s
        self._max_size = max_size
        self._db: Database | None = None
        self._opening = asyncio.Lock()
        self._where = redact(url)

    async def start(self) -> None:
        """Connect and apply the directory's migrations; DirectoryUnavailable when it cannot."""
        await self._database()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def _database(self) -> Database:
        if self._db is not None:
            return self._db
        async with self._opening:
            if self._db is None:
                db = Database(self._url, max_size=self._max_size, timeout_s=self._timeout_s, name="directory",
                              setting="FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL")
                try:
                    async with self._reachable():
                        await db.open()
                        await migrate(db, [COMPONENT])
                except BaseException:
                    await db.close()
                    raise
                self._db = db
        return self._db

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        db = await self._database()
        async with self._reachable(), db.connection() as conn:
            yield conn

    @asynccontextmanager
    async def _reachable(self) -> AsyncIterator[None]:
        try:
            yield
        except (psycopg.OperationalError, PoolTimeout, DatabaseUnavailable) as exc:
            raise DirectoryUnavailable(
                f"the global directory ({self._where}) is unreachable ({type(exc).__name__}); check "
                "FARAMESH_CLOUD_DIRECTORY_POSTGRES_URL and that database") from exc

    async def claim_org(self, org_id: str, slug: str, region: str) -> None:
        async with self._conn() as conn:
            row = await (await conn.execute(
                "INSERT INTO directory_orgs (org_id, slug, region) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING region", (org_id, slug, region))).fetchone()
            if row is not None:
                return
            held = await (await conn.execute(
                "SELECT org_id, region FROM directory_orgs WHERE slug = %s OR org_id = %s",
                (slug, org_id))).fetchone()
        if held is not None and (str(held[0]), held[1]) == (str(org_id), region):
            return
        holder = "" if held is None else held[1]
        raise Taken(f"the organisation slug {slug!r} is taken (region {holder}); pick another slug", holder)

    async def claim_user(self, email: str, region: str) -> str:
        async with self._conn() as conn:
            row = await (await conn.execute(
                "INSERT INTO directory_users (email, home_region) VALUES (%s, %s) "
                "ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email RETURNING home_region",
                (email.strip().lower(), region))).fetchone()
        assert row is not None
        return str(row[0])

    async def claim_stack(self, stack_id: str, region: str) -> None:
        await self._claim("directory_stacks", "stack_id", str(stack_id), region, "stack")

    async def claim_stack_key(self, key_id: str, region: str) -> None:
        await self._claim("directory_stack_keys", "key_id", key_id, region, "stack key")

    async def _claim(self, table: str, column: str, name: str, region: str, what: str) -> None:
        async with self._conn() as conn:
            row = await (await conn.execute(
                f"INSERT INTO {table} ({column}, region) VALUES (%s, %s) ON CONFLICT ({column}) "
                f"DO UPDATE SET region = {table}.region RETURNING region", (name, region))).fetchone()
        assert row is not None
        if row[0] != region:
            raise Taken(f"{what} {name} is held by region {row[0]}", str(row[0]))

    async def region_of_org(self, slug: str) -> str | None:
        return await self._one("SELECT region FROM directory_orgs WHERE slug = %s", slug)

    async def home_of(self, email: str) -> str | None:
        return await self._one("SELECT home_region FROM directory_users WHERE email = %s", email.strip().lower())

    async def region_of_stack(self, stack_id: str) -> str | None:
        try:
            stack = str(uuid.UUID(str(stack_id)))
        except ValueError:
            return None
        return await self._one("SELECT region FROM directory_stacks WHERE stack_id = %s::uuid", stack)

    async def region_of_stack_key(self, key_id: str) -> str | None:
        return await self._one("SELECT region FROM directory_stack_keys WHERE key_id = %s", key_id)

    async def _one(self, query: str, value: str) -> str | None:
        async with self._conn() as conn:
            row = await (await conn.execute(query, (value,))).fetchone()
        return None if row is None else str(row[0])

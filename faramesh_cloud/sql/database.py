"""A PostgreSQL database reached through an async connection pool.

Pooled connections are in autocommit mode: every statement commits on its own unless it
runs inside :meth:`Database.transaction` (or ``conn.transaction()``). Connections are checked
when taken from the pool, so one the server dropped is replaced rather than handed out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL could not be reached; the message says where and what to check."""


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class Database:
    """One PostgreSQL database: a pool of connections plus dedicated sessions on demand."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        timeout_s: float = 30.0,
        name: str = "faramesh",
        check_on_checkout: bool = False,
        setting: str = "FARAMESH_CLOUD_POSTGRES_URL",
    ) -> None:
        """``setting``: where the URL came from, named when it cannot connect.
        ``check_on_checkout`` pings each connection as it leaves the pool: it hides a
        server restart from the next caller at the price of one round trip per checkout,
        which the ingest hot path cannot afford; without it a dead connection fails its
        first query (callers map that to "unavailable, retry") and the pool replaces it."""
        self._url = url
        self._setting = setting
        self._timeout_s = timeout_s
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout_s,
            kwargs={"autocommit": True},
            check=AsyncConnectionPool.check_connection if check_on_checkout else None,
            name=name,
            open=False,
        )

    @property
    def url(self) -> str:
        return self._url

    @property
    def timeout_s(self) -> float:
        """How long to wait for a connection before giving up."""
        return self._timeout_s

    async def open(self) -> None:
        """Open the pool and wait for its first connections."""
        try:
            await self._pool.open(wait=True, timeout=self._timeout_s)
        except PoolTimeout as exc:
            await self._pool.close()
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {redact(self._url)} within "
                f"{self._timeout_s:g} s; check that the server is running and the URL "
                f"({self._setting}) is right"
            ) from exc

    async def close(self) -> None:
        await self._pool.close()

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection (autocommit) for the duration of the block."""
        async with self._pool.connection() as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection inside one transaction: committed when the block ends,
        rolled back if it raises."""
        async with self._pool.connection() as conn, conn.transaction():
            yield conn

    async def connect(self) -> psycopg.AsyncConnection[Any]:
        """A dedicated session outside the pool (autocommit), e.g. to LISTEN or to hold
        session-level advisory locks. The caller closes it."""
        return await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, connect_timeout=max(1, round(self._timeout_s))
        )

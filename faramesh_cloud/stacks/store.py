"""StackStore: organisations, stacks and stack API keys in PostgreSQL.

Every method that reads or writes a tenant's rows takes ``org_id`` and puts it in its
``WHERE`` clause, so a caller holding another organisation's ids gets nothing. The one
exception is :meth:`StackStore.authenticate`, whose whole job is to find out which
organisation a key belongs to: it looks the key up by its (random, global) key id and
trusts nothing else.

Times (expiry, revocation, last seen) are the database's ``now()``, so every process agrees.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors

from faramesh_cloud.directory.port import DirectoryError, DirectoryUnavailable
from faramesh_cloud.directory.region import Region
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.domain import (
    Org,
    Stack,
    StackError,
    StackIdentity,
    StackKey,
    check_stack_name,
)
from faramesh_cloud.stacks.keys import display_prefix, new_key, parse_key, secret_digest
from faramesh_cloud.stacks.signing_keys import SigningKeyStore

COMPONENT: Final = ("stacks", "faramesh_cloud.stacks")

# Compared against when a key id is unknown, so an unknown key costs the same work as a
# wrong secret.
_DUMMY_DIGEST: Final = bytes(32)

# Bound on the in-process "last touched" memory; forgetting only costs one extra write.
_MAX_TOUCHED: Final = 100_000

_STACK_COLUMNS: Final = (
    "org_id, stack_id, name, environment, created_at, last_seen_at, deregistered_at"
)
_KEY_COLUMNS: Final = "key_id, org_id, stack_id, prefix, created_at, expires_at, revoked_at"


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise StackError(f"{what} {value!r} is not a valid id (a UUID); check the value passed") from None


async def _claimed(claim: Awaitable[None]) -> None:
    """A directory claim, before anything is created in this region: a refusal (a slug
    another region holds) is a StackError; the directory down, ServiceUnavailable (the
    gateway's 503 with Retry-After, the CLI's exit 1)."""
    try:
        await claim
    except DirectoryUnavailable as exc:
        raise ServiceUnavailable("global directory", str(exc)) from exc
    except DirectoryError as exc:
        raise StackError(str(exc)) from exc


def _stack(row: tuple[Any, ...]) -> Stack:
    return Stack(str(row[0]), str(row[1]), row[2], row[3], row[4], row[5], row[6])


def _key(row: tuple[Any, ...]) -> StackKey:
    return StackKey(row[0], str(row[1]), str(row[2]), row[3], row[4], row[5], row[6])


class StackStore:
    """Organisations, stacks and their API keys."""

    def __init__(
        self, db: Database, *, touch_every_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
        region: Region | None = None,
    ) -> None:
        """``region``: a multi-region install's region; every organisation, stack and key made
        here is claimed in the global directory first (None: single region, no directory)."""
        self._db = db
        self._region = region
        self._touch_every_s = touch_every_s
        self._clock = clock
        # When this process last wrote last_seen_at per stack: saves a round trip per call.
        self._touched: dict[tuple[str, str], float] = {}
        # Pinned DPR signing keys (same database and migrations): pin, revoke, list.
        self.signing_keys = SigningKeyStore(db)

    async def start(self) -> None:
        """Apply the ``stacks`` migrations."""
        await migrate(self._db, [COMPONENT])

    # -- organisations ---------------------------------------------------------------

    async def create_org(self, slug: str, name: str) -> Org:
        org = Org(org_id=str(uuid.uuid4()), slug=slug, name=name)
        if self._region is not None:
            await _claimed(self._region.claim_org(org.org_id, slug))
        try:
            async with self._db.connection() as conn:
                await conn.execute(
                    "INSERT INTO orgs (org_id, slug, name) VALUES (%s, %s, %s)",
                    (org.org_id, slug, name),
                )
        except pg_errors.UniqueViolation:
            raise StackError(f"an organisation with slug {slug!r} exists already; pick another slug") from None
        except pg_errors.CheckViolation:
            raise StackError(
                f"organisation slug {slug!r} / name {name!r} rejected: a slug is 1-63 lower-case "
                "letters, digits and inner hyphens; a name is 1-200 characters"
            ) from None
        return org

    # -- stacks ----------------------------------------------------------------------

    async def register_stack(self, org_id: str, name: str, environment: str = "") -> tuple[Stack, str]:
        """Register a stack and issue its first key. Returns the stack and the plaintext key,
        which exists only in this return value: show it once, never store it. ``name``
        must follow the stack-name rule (``domain.check_stack_name``)."""
        check_stack_name(name)
        org = _uuid(org_id, "organisation")
        stack_id = uuid.uuid4()
        key, plaintext = new_key()
        if self._region is not None:
            await _claimed(self._region.claim_stack(str(stack_id), key.key_id))
        try:
            async with self._db.transaction() as conn:
                row = await (
                    await conn.execute(
                        f"INSERT INTO stacks (org_id, stack_id, name, environment) "
                        f"VALUES (%s, %s, %s, %s) RETURNING {_STACK_COLUMNS}",
                        (org, stack_id, name, environment),
                    )
                ).fetchone()
                await self._insert_key(conn, org, stack_id, key.key_id, key.secret)
        except pg_errors.ForeignKeyViolation:
            raise StackError(f"organisation {org_id} does not exist; create it first") from None
        except pg_errors.UniqueViolation:
            raise StackError(
                f"organisation {org_id} already has a registered stack named {name!r}; pick "
                "another name or deregister the old stack first"
            ) from None
        except pg_errors.CheckViolation:
            raise StackError(
                f"environment label {environment!r} rejected: an environment label is at most 100 characters"
            ) from None
        assert row is not None
        return _stack(row), plaintext

    async def get_stack(self, org_id: str, stack_id: str) -> Stack | None:
        async with self._db.connection() as conn:
            row = await (
                await conn.execute(
                    f"SELECT {_STACK_COLUMNS} FROM stacks WHERE org_id = %s AND stack_id = %s",
                    (_uuid(org_id, "organisation"), _uuid(stack_id, "stack")),
                )
            ).fetchone()
        return None if row is None else _stack(row)

    async def list_stacks(self, org_id: str) -> list[Stack]:
        async with self._db.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {_STACK_COLUMNS} FROM stacks WHERE org_id = %s ORDER BY created_at, name",
                    (_uuid(org_id, "organisation"),),
                )
            ).fetchall()
        return [_stack(r) for r in rows]

    async def deregister_stack(self, org_id: str, stack_id: str) -> Stack:
        """Deregister a stack and revoke all its keys at once. Its history stays. Repeating
        it changes nothing."""
        org, stack = _uuid(org_id, "organisation"), _uuid(stack_id, "stack")
        async with self._db.transaction() as conn:
            row = await (
                await conn.execute(
                    "UPDATE stacks SET deregistered_at = COALESCE(deregistered_at, now()) "
                    f"WHERE org_id = %s AND stack_id = %s RETURNING {_STACK_COLUMNS}",
                    (org, stack),
                )
            ).fetchone()
            if row is None:
                raise StackError(f"organisation {org_id} has no stack {stack_id}; check the stack id")
            await conn.execute(
                "UPDATE stack_api_keys SET revoked_at = now() "
                "WHERE org_id = %s AND stack_id = %s AND revoked_at IS NULL",
                (org, stack),
            )
        return _stack(row)

    async def set_environment(self, org_id: str, stack_id: str, environment: str) -> Stack:
        """Change a registered stack's environment label (at most 100 characters)."""
        if len(environment) > 100:
            raise StackError("an environment label is at most 100 characters")
        async with self._db.connection() as conn:
            row = await (
                await conn.execute(
                    f"UPDATE stacks SET environment = %s WHERE org_id = %s AND stack_id = %s "
                    f"AND deregistered_at IS NULL RETURNING {_STACK_COLUMNS}",
                    (environment, _uuid(org_id, "organisation"), _uuid(stack_id, "stack")),
                )
            ).fetchone()
        if row is None:
            raise StackError(f"organisation {org_id} has no registered stack {stack_id}; check the stack id")
        return _stack(row)

    async def touch(self, org_id: str, stack_id: str) -> None:
        """Record that the stack was just in contact (written at most every few seconds)."""
        now = self._clock()
        last = self._touched.get((org_id, stack_id))
        if last is not None and now - last < self._touch_every_s:
            return
        async with self._db.connection() as conn:
            await conn.execute(
                "UPDATE stacks SET last_seen_at = now() WHERE org_id = %s AND stack_id = %s "
                "AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => %s))",
                (_uuid(org_id, "organisation"), _uuid(stack_id, "stack"), self._touch_every_s),
            )
        if len(self._touched) >= _MAX_TOUCHED:
            self._touched.clear()
        self._touched[(org_id, stack_id)] = now

    # -- keys ------------------------------------------------------------------------

    async def rotate_key(self, org_id: str, stack_id: str, overlap_s: float) -> str:
        """Issue a new key for the stack; every key that works now keeps working for
        ``overlap_s`` more seconds (0 ends them at once). Returns the new plaintext key."""
        if overlap_s < 0:
            raise StackError(f"overlap_s must be 0 or more seconds, got {overlap_s}")
        org, stack = _uuid(org_id, "organisation"), _uuid(stack_id, "stack")
        key, plaintext = new_key()
        if self._region is not None:
            await _claimed(self._region.claim_stack_key(key.key_id))
        async with self._db.transaction() as conn:
            row = await (
                await conn.execute(
                    "SELECT deregistered_at FROM stacks WHERE org_id = %s AND stack_id = %s FOR UPDATE",
                    (org, stack),
                )
            ).fetchone()
            if row is None:
                raise StackError(f"organisation {org_id} has no stack {stack_id}; check the stack id")
            if row[0] is not None:
                raise StackError(
                    f"stack {stack_id} was deregistered; register the daemon as a new stack instead"
                )
            await conn.execute(
                "UPDATE stack_api_keys SET expires_at = LEAST("
                "COALESCE(expires_at, 'infinity'), now() + make_interval(secs => %s)) "
                "WHERE org_id = %s AND stack_id = %s AND revoked_at IS NULL "
                "AND (expires_at IS NULL OR expires_at > now())",
                (overlap_s, org, stack),
            )
            await self._insert_key(conn, org, stack, key.key_id, key.secret)
        return plaintext

    async def revoke_key(self, org_id: str, key_id: str) -> StackKey:
        """End a key at once. Repeating it changes nothing."""
        async with self._db.connection() as conn:
            row = await (
                await conn.execute(
                    "UPDATE stack_api_keys SET revoked_at = COALESCE(revoked_at, now()) "
                    f"WHERE org_id = %s AND key_id = %s RETURNING {_KEY_COLUMNS}",
                    (_uuid(org_id, "organisation"), key_id),
                )
            ).fetchone()
        if row is None:
            raise StackError(f"organisation {org_id} has no API key {key_id!r}; list the stack's keys")
        return _key(row)

    async def list_keys(self, org_id: str, stack_id: str) -> list[StackKey]:
        async with self._db.connection() as conn:
            rows = await (
                await conn.execute(
                    f"SELECT {_KEY_COLUMNS} FROM stack_api_keys WHERE org_id = %s AND stack_id = %s "
                    "ORDER BY created_at, key_id",
                    (_uuid(org_id, "organisation"), _uuid(stack_id, "stack")),
                )
            ).fetchall()
        return [_key(r) for r in rows]

    async def authenticate(self, plaintext: str) -> StackIdentity | None:
        """The stack a plaintext key belongs to, or None when the key is malformed, unknown,
        revoked, expired, or its stack is deregistered."""
        parsed = parse_key(plaintext)
        if parsed is None:
            return None
        async with self._db.connection() as conn:
            row = await (
                await conn.execute(
                    "SELECT k.org_id, k.stack_id, k.secret_sha256, k.expires_at "
                    "FROM stack_api_keys k JOIN stacks s "
                    "ON s.org_id = k.org_id AND s.stack_id = k.stack_id "
                    "WHERE k.key_id = %s AND k.revoked_at IS NULL "
                    "AND (k.expires_at IS NULL OR k.expires_at > now()) "
                    "AND s.deregistered_at IS NULL",
                    (parsed.key_id,),
                )
            ).fetchone()
        stored = bytes(row[2]) if row is not None else _DUMMY_DIGEST
        # Constant-time: the comparison takes as long whichever byte differs.
        if not hmac.compare_digest(secret_digest(parsed.secret), stored) or row is None:
            return None
        expires_at: datetime | None = row[3]
        return StackIdentity(str(row[0]), str(row[1]), parsed.key_id, expires_at)

    @staticmethod
    async def _insert_key(
        conn: psycopg.AsyncConnection[Any], org: uuid.UUID, stack: uuid.UUID, key_id: str, secret: str
    ) -> None:
        await conn.execute(
            "INSERT INTO stack_api_keys (key_id, org_id, stack_id, prefix, secret_sha256) "
            "VALUES (%s, %s, %s, %s, %s)",
            (key_id, org, stack, display_prefix(key_id), secret_digest(secret)),
        )

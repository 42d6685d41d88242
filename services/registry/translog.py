"""The registry log in PostgreSQL: append inside the caller's transaction, sign checkpoints,
export for offline verification (formats: ``translog_format``; checks: ``translog_verify``;
docs/registry-log.md).

Every registry command (publish, yank, approve, reject, key added or retired, ...) calls
:func:`append` on the connection of its own transaction, so its state, its outbox event and
its log entry commit together or not at all. Appends are serialised by a transaction-scoped
advisory lock (:data:`LOCK_KEY`) taken before the head is read: ``seq`` is dense (1, 2, ...;
a rolled-back append leaves no gap, since its seq is taken again by the next one) and the
chain never forks (``seq`` is also the primary key). Under READ COMMITTED (the default) the
head read after the lock sees every append committed before it. The tables refuse UPDATE,
DELETE and TRUNCATE (migration 0002); the chain and the signed checkpoints catch whoever
goes around that.

:func:`checkpoint` signs (size, head hash) with the registry key (any :class:`Signer`) under
the same lock; calling it again with nothing new logged returns the existing checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, Protocol

import psycopg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from faramesh_cloud.registry.translog_format import (
    DEFAULT_ORIGIN,
    FORMAT,
    GENESIS_HASH,
    Checkpoint,
    LogEntry,
    check_action,
    check_key_id,
    checkpoint_body,
)
from faramesh_cloud.signing.bundle import iso_utc
from faramesh_cloud.signing.canonical import canonical_json
from faramesh_cloud.signing.keys import public_raw
from faramesh_cloud.sql.database import Database

# Transaction advisory lock serialising appends and checkpoints: "reglog" in ASCII.
LOCK_KEY: Final = 0x7265_676C_6F67

_ENTRY_COLUMNS: Final = "seq, logged_at, action, subject, actor, body, prev_hash, entry_hash"
_CHECKPOINT_COLUMNS: Final = "origin, size, head_hash, key_id, signature, signed_at, public_key"


class Signer(Protocol):
    """The registry key as the log needs it: its id, its 32-byte public half, and signing."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class Ed25519Signer:
    """A :class:`Signer` over an in-memory Ed25519 private key."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey) -> None:
        self._key_id = check_key_id(key_id)
        self._private = private_key

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return public_raw(self._private.public_key())

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def _in_transaction(conn: psycopg.AsyncConnection[Any], what: str) -> None:
    if conn.info.transaction_status != TransactionStatus.INTRANS:
        raise RuntimeError(f"registry log {what} must run inside the caller's open transaction "
                           "(async with conn.transaction(): ...), so that it commits with the command")


async def _lock_and_head(conn: psycopg.AsyncConnection[Any]) -> tuple[int, bytes, datetime]:
    """Take the log's lock; (last seq, its hash, now). (0, genesis, now) for an empty log."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
    row = await (await conn.execute(
        "SELECT h.seq, h.entry_hash, clock_timestamp() FROM (SELECT 1) AS one LEFT JOIN LATERAL "
        "(SELECT seq, entry_hash FROM registry_log ORDER BY seq DESC LIMIT 1) AS h ON true")).fetchone()
    assert row is not None
    return (0, GENESIS_HASH, row[2]) if row[0] is None else (int(row[0]), bytes(row[1]), row[2])


async def append(conn: psycopg.AsyncConnection[Any], *, action: str, subject: Mapping[str, Any],
                 actor: Mapping[str, Any], body: Mapping[str, Any]) -> LogEntry:
    """Append one entry inside ``conn``'s open transaction and return it sealed.

    ``subject`` names what changed (``{"kind", "name", "version"}``, ``{"key_id"}``,
    ``{"namespace"}``), ``actor`` who did it, ``body`` the facts worth keeping (digests, reasons,
    key material). All three are JSON objects without floats (``ValueError`` before anything
    is written otherwise)."""
    _in_transaction(conn, "append")
    name = check_action(action)
    parts = {"subject": dict(subject), "actor": dict(actor), "body": dict(body)}
    for label, value in parts.items():
        try:
            canonical_json(value)
        except ValueError as exc:
            raise ValueError(f"registry log {label}: {exc}") from None
    seq, prev_hash, now = await _lock_and_head(conn)
    entry = LogEntry(seq + 1, now, name.value, parts["subject"], parts["actor"], parts["body"], prev_hash).sealed()
    await conn.execute(
        f"INSERT INTO registry_log ({_ENTRY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (entry.seq, entry.logged_at, entry.action, Jsonb(parts["subject"]), Jsonb(parts["actor"]),
         Jsonb(parts["body"]), entry.prev_hash, entry.entry_hash))
    return entry


def _checkpoint(row: tuple[Any, ...]) -> Checkpoint:
    return Checkpoint(row[0], int(row[1]), bytes(row[2]), row[3], bytes(row[4]), row[5])


async def checkpoint(conn: psycopg.AsyncConnection[Any], signer: Signer, *,
                     origin: str = DEFAULT_ORIGIN) -> Checkpoint:
    """Sign the log's current (size, head) with ``signer`` inside ``conn``'s transaction (the
    command's own, or one of its own after it). Idempotent: the existing checkpoint when this
    key already signed this size."""
    _in_transaction(conn, "checkpoint")
    key_id = check_key_id(signer.key_id)
    size, head, now = await _lock_and_head(conn)
    row = await (await conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM registry_log_checkpoints WHERE size = %s AND key_id = %s",
        (size, key_id))).fetchone()
    if row is not None:
        return _checkpoint(row)
    body = checkpoint_body(origin, size, head)
    signature = signer.sign(body)
    public = bytes(signer.public_key)
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, body)
    except (InvalidSignature, ValueError):
        raise ValueError(f"signer {key_id!r} does not sign with the public key it reports; "
                         "check the registry key configuration") from None
    await conn.execute(
        f"INSERT INTO registry_log_checkpoints ({_CHECKPOINT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (origin, size, head, key_id, signature, now, public))
    return Checkpoint(origin, size, head, key_id, signature, now)


async def latest_checkpoint(conn: psycopg.AsyncConnection[Any]) -> tuple[Checkpoint, bytes] | None:
    """The newest checkpoint (largest size, then newest) and its public key; None before the first."""
    row = await (await conn.execute(
        f"SELECT {_CHECKPOINT_COLUMNS} FROM registry_log_checkpoints "
        "ORDER BY size DESC, signed_at DESC LIMIT 1")).fetchone()
    return None if row is None else (_checkpoint(row), bytes(row[6]))


async def read_entries(conn: psycopg.AsyncConnection[Any], *, after: int = 0,
                       limit: int | None = None) -> list[LogEntry]:
    """Entries with ``seq > after``, oldest first."""
    sql = f"SELECT {_ENTRY_COLUMNS} FROM registry_log WHERE seq > %s ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = await (await conn.execute(sql, (after,))).fetchall()
    return [LogEntry(int(r[0]), r[1], r[2], r[3], r[4], r[5], bytes(r[6]), bytes(r[7])) for r in rows]


async def export_log(db: Database, *, now: datetime, origin: str = DEFAULT_ORIGIN) -> dict[str, Any]:
    """The whole log as an export (``translog_verify``'s format). Checkpoints are read before
    entries, and the log is append-only, so every checkpoint exported covers entries that
    are exported too."""
    async with db.transaction() as conn:
        rows = await (await conn.execute(
            f"SELECT {_CHECKPOINT_COLUMNS} FROM registry_log_checkpoints ORDER BY size, signed_at")).fetchall()
        entries = await read_entries(conn)
    keys: dict[tuple[str, bytes], None] = {}
    checkpoints = []
    for row in rows:
        public = bytes(row[6])
        keys[(row[3], public)] = None
        checkpoints.append(_checkpoint(row).to_json(public))
    return {
        "format": FORMAT,
        "origin": rows[-1][0] if rows else origin,
        "exported_at": iso_utc(now),
        "keys": [{"key_id": k, "algorithm": "ed25519", "public_key_b64": base64.b64encode(p).decode()}
                 for k, p in keys],
        "entries": [e.to_json() for e in entries],
        "checkpoints": checkpoints,
    }

"""Pinned DPR signing keys: which Ed25519 public keys may sign a stack's DPRs.

``parse_public_key`` (pure) accepts what a daemon or operator has at hand and returns the
canonical standard-base64 form that records carry in ``signer_public_key``:

* base64 of the raw 32-byte key (``faramesh.ed25519.pub``, a record's ``signer_public_key``);
* ``ed25519:<base64>`` (the form of ``trust { key ... ed25519:<b64> }`` in the daemon's config);
* a PEM ``-----BEGIN PUBLIC KEY-----`` block (SubjectPublicKeyInfo of an Ed25519 key).

``SigningKeyStore`` keeps the pins in PostgreSQL (table ``stack_signing_keys``, migration
0003). Tenant calls run in a tenant transaction, so row-level security backs up the
``WHERE org_id``. Each change (a new pin, a pin again after a revocation, a revocation) adds
its event (``events.py``: ``SigningKeyPinned`` / ``SigningKeyUnpinned``, with the time it takes
effect) to ``stacks_outbox`` in the same transaction; nothing else reads this table: the
audit index keeps its own pin history from ``stacks.signing_keys.v1``, and checks each record
against the pins in force when Cloud received it (docs/audit-index.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from psycopg import AsyncConnection
from psycopg import errors as pg_errors

from faramesh_cloud.events.topics import SIGNING_KEYS
from faramesh_cloud.outbox.store import Outbox
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction
from faramesh_cloud.stacks.domain import StackError
from faramesh_cloud.stacks.events import SigningKeyPinned, SigningKeyUnpinned

# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier
# 1.3.101.112, BIT STRING of 33 bytes (0 unused bits + 32 key bytes).
_SPKI_PREFIX: Final = bytes.fromhex("302a300506032b6570032100")
_PEM: Final = re.compile(r"-----BEGIN PUBLIC KEY-----(.*?)-----END PUBLIC KEY-----", re.S)
MAX_LABEL: Final = 200

OUTBOX_TABLE: Final = "stacks_outbox"  # the stacks component's outbox (migration 0004)
OUTBOX: Final = Outbox(OUTBOX_TABLE)
_COLUMNS: Final = "org_id, stack_id, key_id, public_key, label, added_at, added_by, revoked_at, revoked_by"


@dataclass(frozen=True, slots=True)
class PinnedKey:
    org_id: str
    stack_id: str
    key_id: str  # hex SHA-256 of the raw key, as the daemon names it
    public_key: str  # standard base64 of the raw 32 bytes
    label: str
    added_at: datetime
    added_by: str
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


# What the caller writes with a pin or revocation, in its transaction (the tenant transaction
# of the organisation): its platform audit entry. If it fails, the change is rolled back too.
WithChange = Callable[[AsyncConnection[Any], "PinnedKey"], Awaitable[object]]


def _b64_32(text: str) -> bytes | None:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == 32 else None


def parse_public_key(text: str) -> str:
    """The canonical base64 of an Ed25519 public key given as base64, ``ed25519:<b64>`` or
    PEM; ``StackError`` (a clear message) for anything else."""
    value = text.strip()
    pem = _PEM.search(value)
    if pem is not None:
        try:
            der = base64.b64decode("".join(pem.group(1).split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if len(der) != len(_SPKI_PREFIX) + 32 or not der.startswith(_SPKI_PREFIX):
            raise StackError("the PEM block is not an Ed25519 public key (SubjectPublicKeyInfo, OID 1.3.101.112)")
        return base64.b64encode(der[len(_SPKI_PREFIX):]).decode()
    if value.lower().startswith("ed25519:"):
        value = value[len("ed25519:"):].strip()
    raw = _b64_32(value)
    if raw is None:
        raise StackError(
            "not an Ed25519 public key: give the standard base64 of the raw 32-byte key (as in "
            "faramesh.ed25519.pub or a DPR's signer_public_key), 'ed25519:<base64>', or a PEM "
            "'BEGIN PUBLIC KEY' block"
        )
    return base64.b64encode(raw).decode()


def key_id_of(public_key_b64: str) -> str:
    return hashlib.sha256(base64.b64decode(public_key_b64)).hexdigest()


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise StackError(f"{what} {value!r} is not a valid id (a UUID); check the value passed") from None


def _row(row: tuple[Any, ...]) -> PinnedKey:
    return PinnedKey(str(row[0]), str(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8])


class SigningKeyStore:
    """Pin, list and revoke a stack's DPR signing keys (the ``stacks`` migrations create the
    table: start ``StackStore`` first)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def pin(self, org_id: str, stack_id: str, public_key: str, *, added_by: str,
                  label: str = "", with_change: WithChange | None = None) -> PinnedKey:
        """Pin a key (any accepted form) for a registered stack. Pinning a key that is pinned
        already returns it unchanged; pinning a revoked key pins it again. ``with_change``
        (the caller's audit entry) runs in the same transaction: both commit, or neither."""
        canonical = parse_public_key(public_key)
        label = label.strip()
        if len(label) > MAX_LABEL:
            raise StackError(f"a label is at most {MAX_LABEL} characters")
        org, stack = _uuid(org_id, "organisation"), _uuid(stack_id, "stack")
        async with tenant_transaction(self._db, org_id) as conn:
            live = await (await conn.execute(
                "SELECT deregistered_at FROM stacks WHERE org_id = %s AND stack_id = %s", (org, stack),
            )).fetchone()
            if live is None:
                raise StackError(f"organisation {org_id} has no stack {stack_id}; check the stack id")
            if live[0] is not None:
                raise StackError(f"stack {stack_id} was deregistered; keys cannot be pinned for it")
            current = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM stack_signing_keys WHERE org_id = %s AND stack_id = %s AND key_id = %s "
                "FOR UPDATE", (org, stack, key_id_of(canonical)),
            )).fetchone()
            try:
                row = await (await conn.execute(
                    "INSERT INTO stack_signing_keys (org_id, stack_id, key_id, public_key, label, added_by) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (org_id, stack_id, key_id) DO UPDATE SET "
                    "revoked_at = NULL, revoked_by = NULL, "
                    "added_at = CASE WHEN stack_signing_keys.revoked_at IS NULL "
                    "THEN stack_signing_keys.added_at ELSE now() END, "
                    "added_by = CASE WHEN stack_signing_keys.revoked_at IS NULL "
                    "THEN stack_signing_keys.added_by ELSE EXCLUDED.added_by END, "
                    "label = CASE WHEN EXCLUDED.label = '' THEN stack_signing_keys.label ELSE EXCLUDED.label END "
                    f"RETURNING {_COLUMNS}",
                    (org, stack, key_id_of(canonical), canonical, label, added_by),
                )).fetchone()
            except pg_errors.CheckViolation:
                raise StackError("the key, label (at most 200 characters) or actor was rejected") from None
            assert row is not None
            pinned = _row(row)
            if current is None or current[7] is not None:  # new, or pinned again after a revocation
                await OUTBOX.add(conn, SIGNING_KEYS, [SigningKeyPinned(
                    org_id, stack_id, pinned.key_id, pinned.public_key, pinned.label, added_by,
                    effective_at=pinned.added_at).record()])
            if with_change is not None:
                await with_change(conn, pinned)
        return pinned

    async def revoke(self, org_id: str, stack_id: str, key: str, *, revoked_by: str,
                     with_change: WithChange | None = None) -> PinnedKey:
        """Revoke a pinned key, named by its key id (hex SHA-256) or the key itself. Repeating
        it changes nothing. ``with_change`` (the caller's audit entry) runs in the same
        transaction, for a repeat too; not for a key the stack never had."""
        org, stack = _uuid(org_id, "organisation"), _uuid(stack_id, "stack")
        kid = key.strip().lower() if re.fullmatch(r"[0-9a-fA-F]{64}", key.strip()) else key_id_of(parse_public_key(key))
        async with tenant_transaction(self._db, org_id) as conn:
            row = await (await conn.execute(
                "UPDATE stack_signing_keys SET revoked_at = now(), revoked_by = %s "
                f"WHERE org_id = %s AND stack_id = %s AND key_id = %s AND revoked_at IS NULL RETURNING {_COLUMNS}",
                (revoked_by, org, stack, kid),
            )).fetchone()
            if row is not None:  # revoked now: from this moment on the key no longer counts
                revoked = _row(row)
                assert revoked.revoked_at is not None
                await OUTBOX.add(conn, SIGNING_KEYS, [SigningKeyUnpinned(
                    org_id, stack_id, kid, revoked_by, effective_at=revoked.revoked_at).record()])
            else:
                row = await (await conn.execute(
                    f"SELECT {_COLUMNS} FROM stack_signing_keys WHERE org_id = %s AND stack_id = %s AND key_id = %s",
                    (org, stack, kid),
                )).fetchone()
                if row is None:
                    raise StackError(f"stack {stack_id} has no pinned signing key {kid}; list the stack's pinned keys")
                revoked = _row(row)
            if with_change is not None:
                await with_change(conn, revoked)
        return revoked

    async def list(self, org_id: str, stack_id: str) -> list[PinnedKey]:
        org, stack = _uuid(org_id, "organisation"), _uuid(stack_id, "stack")
        async with tenant_transaction(self._db, org_id) as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM stack_signing_keys WHERE org_id = %s AND stack_id = %s "
                "ORDER BY added_at, key_id", (org, stack),
            )).fetchall()
        return [_row(r) for r in rows]

    async def announce_existing(self) -> int:
        """The events of pins made before pins were events (migration 0004 marks them): each
        announced once, with the times it took effect; how many pins were announced. Spans
        organisations, so it runs as the owner role (the gateway, on start)."""
        async with self._db.transaction() as conn:
            rows = await (await conn.execute(
                f"SELECT {_COLUMNS} FROM stack_signing_keys WHERE NOT announced "
                "ORDER BY added_at, key_id FOR UPDATE SKIP LOCKED")).fetchall()
            events: list[SigningKeyPinned | SigningKeyUnpinned] = []
            for pin in map(_row, rows):
                events.append(SigningKeyPinned(pin.org_id, pin.stack_id, pin.key_id, pin.public_key, pin.label,
                                               pin.added_by, effective_at=pin.added_at))
                if pin.revoked_at is not None:
                    events.append(SigningKeyUnpinned(pin.org_id, pin.stack_id, pin.key_id, pin.revoked_by or "",
                                                     effective_at=pin.revoked_at))
            await OUTBOX.add(conn, SIGNING_KEYS, [e.record() for e in events])
            pins = [_row(r) for r in rows]
            await conn.execute(
                "UPDATE stack_signing_keys SET announced = true WHERE (org_id::text, stack_id::text, key_id) IN "
                "(SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]))",
                ([p.org_id for p in pins], [p.stack_id for p in pins], [p.key_id for p in pins]))
        return len(rows)

"""Pinned DPR signing keys on real PostgreSQL: accepted forms, pin/revoke, tenant scope (the
WHERE clause and row-level security), and the event each change adds to the stacks outbox
(in its transaction, with the time it takes effect; a repeat that changes nothing adds none)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from faramesh_cloud_api.stacks.v1 import events_pb2 as pb
from nacl.signing import SigningKey

from faramesh_cloud.events.topics import SIGNING_KEYS
from faramesh_cloud.log.pg_copy import decode_headers
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction
from faramesh_cloud.stacks.domain import StackError
from faramesh_cloud.stacks.signing_keys import SigningKeyStore, key_id_of, parse_public_key
from faramesh_cloud.stacks.store import StackStore

pytestmark = pytest.mark.postgres


async def pin_events(database: Database) -> list[tuple[str, str, str, str, str, datetime]]:
    """What the stacks outbox holds (nothing relays it here): kind, stack, key id, public key,
    actor and effective time of each event, in order."""
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT topic, key, value, headers FROM stacks_outbox ORDER BY id")).fetchall()
    out = []
    for topic, key, value, headers in rows:
        assert topic == SIGNING_KEYS
        kind = dict(decode_headers(headers))["kind"].decode()
        event = (pb.SigningKeyPinned if kind == "SigningKeyPinned" else pb.SigningKeyUnpinned).FromString(value)
        assert bytes(key) == f"{event.org_id}/{event.stack_id}".encode()
        out.append((kind, event.stack_id, event.key_id, getattr(event, "public_key", ""), event.actor,
                    event.effective_at.ToDatetime(tzinfo=UTC)))
    return out


def _pub(seed: int) -> tuple[str, bytes]:
    raw = bytes(SigningKey(bytes([seed]) * 32).verify_key)
    return base64.b64encode(raw).decode(), raw


def test_the_daemon_forms_of_a_key_parse_to_one_canonical_base64() -> None:
    b64, raw = _pub(1)
    der = bytes.fromhex("302a300506032b6570032100") + raw
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
    assert parse_public_key(b64) == parse_public_key(f"ed25519:{b64}") == parse_public_key(pem) == b64
    for bad in ("", "not base64!", base64.b64encode(raw[:31]).decode(), "ed25519:",
                "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"):
        with pytest.raises(StackError, match="Ed25519"):
            parse_public_key(bad)


async def test_pin_list_revoke_and_snapshot(stack_store: StackStore, database: Database) -> None:
    keys = SigningKeyStore(database)
    org = await stack_store.create_org("acme", "Acme")
    s1, _ = await stack_store.register_stack(org.org_id, "s1")
    s2, _ = await stack_store.register_stack(org.org_id, "s2")
    k1, _ = _pub(1)
    k2, _ = _pub(2)

    pinned = await keys.pin(org.org_id, s1.stack_id, f"ed25519:{k1}", added_by="user:alice", label="prod")
    assert (pinned.public_key, pinned.key_id, pinned.label, pinned.added_by, pinned.active) == (
        k1, key_id_of(k1), "prod", "user:alice", True)
    again = await keys.pin(org.org_id, s1.stack_id, k1, added_by="user:bob")
    assert (again.added_by, again.added_at, again.label) == ("user:alice", pinned.added_at, "prod")
    second = await keys.pin(org.org_id, s1.stack_id, k2, added_by="user:alice")
    assert await pin_events(database) == [
        ("SigningKeyPinned", s1.stack_id, pinned.key_id, k1, "user:alice", pinned.added_at),
        ("SigningKeyPinned", s1.stack_id, second.key_id, k2, "user:alice", second.added_at)]

    revoked = await keys.revoke(org.org_id, s1.stack_id, pinned.key_id, revoked_by="user:bob")
    assert revoked.revoked_at is not None and revoked.revoked_by == "user:bob"
    assert (await keys.revoke(org.org_id, s1.stack_id, k1, revoked_by="user:carol")).revoked_by == "user:bob"
    assert (await pin_events(database))[2:] == [
        ("SigningKeyUnpinned", s1.stack_id, pinned.key_id, "", "user:bob", revoked.revoked_at)]
    assert [k.active for k in await keys.list(org.org_id, s1.stack_id)] == [False, True]
    # Pinned again after its revocation: a new pin, in force from now.
    back = await keys.pin(org.org_id, s1.stack_id, k1, added_by="user:carol")
    assert back.active and back.added_at > revoked.revoked_at
    assert (await pin_events(database))[3:] == [
        ("SigningKeyPinned", s1.stack_id, pinned.key_id, k1, "user:carol", back.added_at)]
    assert await keys.list(org.org_id, s2.stack_id) == []

    with pytest.raises(StackError, match="no pinned signing key"):
        await keys.revoke(org.org_id, s2.stack_id, k1, revoked_by="user:bob")
    with pytest.raises(StackError, match="not an Ed25519 public key"):
        await keys.pin(org.org_id, s1.stack_id, "abc", added_by="user:alice")
    await stack_store.deregister_stack(org.org_id, s2.stack_id)
    with pytest.raises(StackError, match="deregistered"):
        await keys.pin(org.org_id, s2.stack_id, k1, added_by="user:alice")


async def test_another_org_can_neither_see_nor_add_keys(stack_store: StackStore, database: Database) -> None:
    keys = SigningKeyStore(database)
    acme = await stack_store.create_org("acme", "Acme")
    evil = await stack_store.create_org("evil", "Evil")
    stack, _ = await stack_store.register_stack(acme.org_id, "s1")
    k1, _ = _pub(1)
    await keys.pin(acme.org_id, stack.stack_id, k1, added_by="user:alice")

    # Through the store: another org's id finds nothing and pins nothing.
    assert await keys.list(evil.org_id, stack.stack_id) == []
    with pytest.raises(StackError, match="has no stack"):
        await keys.pin(evil.org_id, stack.stack_id, _pub(2)[0], added_by="user:mallory")
    with pytest.raises(StackError, match="no pinned signing key"):
        await keys.revoke(evil.org_id, stack.stack_id, k1, revoked_by="user:mallory")

    # Row-level security: a query without the org filter still sees only its own org's rows,
    # and cannot write a row into another org.
    async with tenant_transaction(database, evil.org_id) as conn:
        assert await (await conn.execute("SELECT count(*) FROM stack_signing_keys")).fetchone() == (0,)
    with pytest.raises(Exception, match="row-level security"):
        async with tenant_transaction(database, evil.org_id) as conn:
            await conn.execute(
                "INSERT INTO stack_signing_keys (org_id, stack_id, key_id, public_key, added_by) "
                "VALUES (%s, %s, %s, %s, 'x')", (acme.org_id, stack.stack_id, key_id_of(k1), k1))
    assert [(e[0], e[1], e[3]) for e in await pin_events(database)] == [("SigningKeyPinned", stack.stack_id, k1)]


async def test_pins_made_before_pins_were_events_are_announced_once(stack_store: StackStore,
                                                                     database: Database) -> None:
    """Migration 0004 marks the pins that existed (they have no events); the gateway announces
    each once on start, with the times it took effect, so the audit index's history has them."""
    keys = SigningKeyStore(database)
    org = await stack_store.create_org("acme", "Acme")
    stack, _ = await stack_store.register_stack(org.org_id, "s1")
    k1, _ = _pub(1)
    k2, _ = _pub(2)
    first = await keys.pin(org.org_id, stack.stack_id, k1, added_by="user:alice")
    second = await keys.pin(org.org_id, stack.stack_id, k2, added_by="user:alice")
    revoked = await keys.revoke(org.org_id, stack.stack_id, k2, revoked_by="user:bob")
    async with database.transaction() as conn:  # as the pins of an installation before the upgrade
        await conn.execute("DELETE FROM stacks_outbox")
        await conn.execute("UPDATE stack_signing_keys SET announced = false")
    assert await keys.announce_existing() == 2
    assert await keys.announce_existing() == 0
    assert await pin_events(database) == [
        ("SigningKeyPinned", stack.stack_id, first.key_id, k1, "user:alice", first.added_at),
        ("SigningKeyPinned", stack.stack_id, second.key_id, k2, "user:alice", second.added_at),
        ("SigningKeyUnpinned", stack.stack_id, second.key_id, "", "user:bob", revoked.revoked_at)]

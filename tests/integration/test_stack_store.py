"""StackStore on real PostgreSQL: registration, keys, rotation, revocation, tenant scope."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import pytest

from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.domain import StackError
from faramesh_cloud.stacks.keys import parse_key
from faramesh_cloud.stacks.store import StackStore

pytestmark = pytest.mark.postgres


async def test_registered_stack_authenticates_with_its_key_shown_once(
    stack_store: StackStore, database: Database
) -> None:
    org = await stack_store.create_org("acme", "Acme Inc.")
    stack, key = await stack_store.register_stack(org.org_id, "payments-prod", "production")

    identity = await stack_store.authenticate(key)
    assert identity is not None
    assert (identity.org_id, identity.stack_id, identity.key_expires_at) == (
        org.org_id, stack.stack_id, None)
    assert (stack.name, stack.environment, stack.registered) == ("payments-prod", "production", True)
    parsed = parse_key(key)
    assert parsed is not None and identity.key_id == parsed.key_id
    async with database.connection() as conn:
        rows = await (await conn.execute("SELECT prefix, secret_sha256 FROM stack_api_keys")).fetchall()
    # Only the prefix and the digest are stored, never the secret.
    assert rows == [(f"fmc_sk_{parsed.key_id}", hashlib.sha256(parsed.secret.encode()).digest())]


async def test_rotation_gives_the_old_key_an_overlap_window(stack_store: StackStore) -> None:
    org = await stack_store.create_org("acme", "Acme")
    stack, old = await stack_store.register_stack(org.org_id, "s1")
    new = await stack_store.rotate_key(org.org_id, stack.stack_id, overlap_s=600)

    old_identity, new_identity = await stack_store.authenticate(old), await stack_store.authenticate(new)
    assert old_identity is not None and new_identity is not None
    assert old_identity.key_expires_at is not None and new_identity.key_expires_at is None
    keys = await stack_store.list_keys(org.org_id, stack.stack_id)
    assert [k.key_id for k in keys if k.expires_at is None] == [new_identity.key_id]

    await stack_store.rotate_key(org.org_id, stack.stack_id, overlap_s=0)
    assert await stack_store.authenticate(old) is None
    assert await stack_store.authenticate(new) is None


async def test_revoked_and_deregistered_keys_stop_working(stack_store: StackStore) -> None:
    org = await stack_store.create_org("acme", "Acme")
    _, k1 = await stack_store.register_stack(org.org_id, "s1")
    s2, k2 = await stack_store.register_stack(org.org_id, "s2")
    parsed = parse_key(k1)
    assert parsed is not None

    revoked = await stack_store.revoke_key(org.org_id, parsed.key_id)
    assert revoked.revoked_at is not None
    assert await stack_store.authenticate(k1) is None
    assert await stack_store.authenticate(k2) is not None

    gone = await stack_store.deregister_stack(org.org_id, s2.stack_id)
    assert not gone.registered
    assert await stack_store.authenticate(k2) is None
    assert all(k.revoked_at is not None for k in await stack_store.list_keys(org.org_id, s2.stack_id))
    with pytest.raises(StackError, match="deregistered"):
        await stack_store.rotate_key(org.org_id, s2.stack_id, overlap_s=60)
    # The name is free again; the old stack stays in history.
    again, _ = await stack_store.register_stack(org.org_id, "s2")
    assert again.stack_id != s2.stack_id
    assert [s.name for s in await stack_store.list_stacks(org.org_id)] == ["s1", "s2", "s2"]


async def test_every_tenant_operation_is_scoped_to_its_organisation(stack_store: StackStore) -> None:
    acme = await stack_store.create_org("acme", "Acme")
    globex = await stack_store.create_org("globex", "Globex")
    stack, key = await stack_store.register_stack(acme.org_id, "s1")
    parsed = parse_key(key)
    assert parsed is not None

    assert await stack_store.get_stack(globex.org_id, stack.stack_id) is None
    assert await stack_store.list_stacks(globex.org_id) == []
    assert await stack_store.list_keys(globex.org_id, stack.stack_id) == []
    with pytest.raises(StackError, match="no API key"):
        await stack_store.revoke_key(globex.org_id, parsed.key_id)
    with pytest.raises(StackError, match="has no stack"):
        await stack_store.rotate_key(globex.org_id, stack.stack_id, overlap_s=0)
    with pytest.raises(StackError, match="has no stack"):
        await stack_store.deregister_stack(globex.org_id, stack.stack_id)
    assert await stack_store.authenticate(key) is not None  # nothing above touched it


async def test_bad_input_is_refused_with_what_to_do(stack_store: StackStore) -> None:
    org = await stack_store.create_org("acme", "Acme")
    with pytest.raises(StackError, match="pick another slug"):
        await stack_store.create_org("acme", "Acme again")
    with pytest.raises(StackError, match="slug"):
        await stack_store.create_org("Not A Slug", "x")
    await stack_store.register_stack(org.org_id, "s1")
    with pytest.raises(StackError, match="already has a registered stack named 's1'"):
        await stack_store.register_stack(org.org_id, "s1")
    with pytest.raises(StackError, match="does not exist"):
        await stack_store.register_stack(str(uuid.uuid4()), "s1")
    for name in ("..", ".", "a/b", "x" * 65, "", "-x"):  # the store holds the stack-name rule too
        with pytest.raises(StackError, match="stack name"):
            await stack_store.register_stack(org.org_id, name)
    with pytest.raises(StackError, match="not a valid id"):
        await stack_store.list_stacks("acme")
    with pytest.raises(StackError, match="overlap_s"):
        await stack_store.rotate_key(org.org_id, str(uuid.uuid4()), overlap_s=-1)


async def test_last_seen_is_recorded(stack_store: StackStore) -> None:
    org = await stack_store.create_org("acme", "Acme")
    stack, _ = await stack_store.register_stack(org.org_id, "s1")
    assert stack.last_seen_at is None
    await stack_store.touch(org.org_id, stack.stack_id)
    seen = await stack_store.get_stack(org.org_id, stack.stack_id)
    assert seen is not None and seen.last_seen_at is not None


async def test_last_seen_moves_on_once_the_touch_interval_has_passed(database: Database) -> None:
    now = [0.0]
    store = StackStore(database, touch_every_s=0.001, clock=lambda: now[0])
    org = await store.create_org("acme", "Acme")
    stack, _ = await store.register_stack(org.org_id, "s1")

    async def last_seen() -> datetime:
        current = await store.get_stack(org.org_id, stack.stack_id)
        assert current is not None and current.last_seen_at is not None
        return current.last_seen_at

    await store.touch(org.org_id, stack.stack_id)
    first = await last_seen()
    await store.touch(org.org_id, stack.stack_id)  # same instant: remembered, no write
    assert await last_seen() == first
    now[0] += 1.0
    await store.touch(org.org_id, stack.stack_id)
    assert await last_seen() > first

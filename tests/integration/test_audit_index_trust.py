"""Pinned signing keys in the audit index (real PostgreSQL, PostgresLog, chDB): a valid
signature by a key that is not pinned for a stack *with* pins is an "untrusted signer"
finding (the record is still indexed); stacks without pins behave as before; the service's
snapshot picks up a new pin on its periodic refresh."""

from __future__ import annotations

import asyncio
import base64

import pytest
from nacl.signing import SigningKey

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.signing_keys import SigningKeyStore
from faramesh_cloud.stacks.store import StackStore
from tests.integration.audit_support import SEED, fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

FLEET_KEY = base64.b64encode(bytes(SigningKey(SEED).verify_key)).decode()  # what the fleet signs with
OTHER_KEY = base64.b64encode(bytes(SigningKey(bytes(32)).verify_key)).decode()


def _untrusted(integrity: list, stack_id: str) -> int:  # type: ignore[type-arg]
    return sum(s.findings_by_kind.get("untrusted_signer", 0) for s in integrity if s.stack_id == stack_id)


async def test_untrusted_signer_findings_only_for_stacks_with_pins(
    database: Database, stack_store: StackStore, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    await migrate(database, [COMPONENT])
    pins = SigningKeyStore(database)
    org = await stack_store.create_org("acme", "Acme")
    foreign, _ = await stack_store.register_stack(org.org_id, "foreign-pin")  # pinned: someone else's key
    own, _ = await stack_store.register_stack(org.org_id, "own-pin")  # pinned: the key it signs with
    bare, _ = await stack_store.register_stack(org.org_id, "no-pins")
    config = fast_config(olap_database)

    # Before any pin: signed records are simply valid everywhere.
    for n, stack in enumerate((foreign, own, bare)):
        await publish(postgres_log, org.org_id, stack.stack_id, records(fleet(stack.name, 2, ["s"], seed=n), 40))
    index = await run_index(database, postgres_log, chdb, config, 120)
    before = await index.queries.chain_integrity(org.org_id)
    assert [_untrusted(before, s.stack_id) for s in (foreign, own, bare)] == [0, 0, 0]

    await pins.pin(org.org_id, foreign.stack_id, OTHER_KEY, added_by="user:test")
    await pins.pin(org.org_id, own.stack_id, f"ed25519:{FLEET_KEY}", added_by="user:test")
    for n, stack in enumerate((foreign, own, bare)):
        recs = records(fleet(stack.name + "-2", 2, ["s"], seed=10 + n), 40)
        await publish(postgres_log, org.org_id, stack.stack_id, recs, first_seq=40)
    index = await run_index(database, postgres_log, chdb, config, 120)
    after = await index.queries.chain_integrity(org.org_id)
    assert _untrusted(after, foreign.stack_id) > 0
    assert _untrusted(after, own.stack_id) == 0 and _untrusted(after, bare.stack_id) == 0
    # Untrusted records are still stored and searchable with their status.
    stored = await index.queries.search(org.org_id, None, None, None, 500)
    statuses = {(r.stack_id, r.signature_status) for r in stored.records}
    assert (foreign.stack_id, "untrusted") in statuses
    assert (own.stack_id, "untrusted") not in statuses and (bare.stack_id, "untrusted") not in statuses

    # Revoking the only pin makes the stack "no pins" again for what is indexed next.
    [pinned] = await pins.list(org.org_id, foreign.stack_id)
    await pins.revoke(org.org_id, foreign.stack_id, pinned.key_id, revoked_by="user:test")
    index = AuditIndex(database, postgres_log, chdb, config)
    assert index.trust is not None
    await index.trust.refresh()
    assert index.trust.get(org.org_id, foreign.stack_id) is None
    assert index.trust.get(org.org_id, own.stack_id) == frozenset({FLEET_KEY})


async def test_the_running_service_picks_up_a_new_pin_on_refresh(
    database: Database, stack_store: StackStore, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    await migrate(database, [COMPONENT])
    org = await stack_store.create_org("acme", "Acme")
    stack, _ = await stack_store.register_stack(org.org_id, "s1")
    config = fast_config(olap_database)
    index = AuditIndex(database, postgres_log, chdb, type(config)(
        database=config.database, group=config.group, runner=config.runner, trust_refresh_s=0.05))
    await index.start()
    try:
        assert index.trust is not None and index.trust.get(org.org_id, stack.stack_id) is None
        await SigningKeyStore(database).pin(org.org_id, stack.stack_id, OTHER_KEY, added_by="user:test")
        async with asyncio.timeout(30):
            while index.trust.get(org.org_id, stack.stack_id) is None:
                assert index.failure() is None
                await asyncio.sleep(0.02)
        assert index.trust.get(org.org_id, stack.stack_id) == frozenset({OTHER_KEY})
    finally:
        await index.stop()

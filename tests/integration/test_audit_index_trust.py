"""Pinned signing keys in the audit index (real PostgreSQL, PostgresLog, chDB): a valid
signature by a key that is not pinned for a stack *with* pins is an "untrusted signer"
finding (the record is still indexed); stacks without pins behave as before; the running
service picks up a new pin from stacks.signing_keys.v1 (the stacks outbox, relayed)."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Callable

import pytest
from nacl.signing import SigningKey

from faramesh_cloud.audit_index.pin_history import PinChange
from faramesh_cloud.audit_index.pins import PinEvent, PinSink
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.trust import TrustSnapshot
from faramesh_cloud.dpr.signatures import SignatureStatus
from faramesh_cloud.events.topics import DEAD_LETTERS, DPR_RECORDS, SIGNING_KEYS, stack_key
from faramesh_cloud.log.port import LogRecord, Message
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.signing_keys import SigningKeyStore
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.ingest import read_topic
from tests.integration.audit_support import (
    SEED,
    all_pages,
    fast_config,
    fleet,
    mutations,
    publish,
    records,
    relay_pins,
    run_index,
)

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
    assert await relay_pins(database, postgres_log) == 2
    for n, stack in enumerate((foreign, own, bare)):  # received after the pins
        recs = records(fleet(stack.name + "-2", 2, ["s"], seed=10 + n), 40)
        await publish(postgres_log, org.org_id, stack.stack_id, recs, first_seq=40, received_ns=time.time_ns())
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
    assert await relay_pins(database, postgres_log) == 1
    index = await run_index(database, postgres_log, chdb, config, 0)
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
        assert index.trust.get(org.org_id, stack.stack_id) is None
        await SigningKeyStore(database).pin(org.org_id, stack.stack_id, OTHER_KEY, added_by="user:test")
        assert await relay_pins(database, postgres_log) == 1
        async with asyncio.timeout(30):
            while index.trust.get(org.org_id, stack.stack_id) is None:
                assert index.failure() is None
                await asyncio.sleep(0.02)
        assert index.trust.get(org.org_id, stack.stack_id) == frozenset({OTHER_KEY})
    finally:
        await index.stop()


async def test_a_pin_counts_for_records_received_from_its_time_on_whenever_the_index_learns_of_it(
    database: Database, stack_store: StackStore, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    await migrate(database, [COMPONENT])
    pins = SigningKeyStore(database)
    org = await stack_store.create_org("acme", "Acme")
    stack, _ = await stack_store.register_stack(org.org_id, "s1")
    config = fast_config(olap_database)
    index = AuditIndex(database, postgres_log, chdb, config)
    await index.start()
    try:
        # Someone else's key pinned at T; the index learns of it at once.
        other = await pins.pin(org.org_id, stack.stack_id, OTHER_KEY, added_by="user:test")
        t_ns = int(other.added_at.timestamp() * 1e9)
        assert await relay_pins(database, postgres_log) == 1
        await eventually_true(lambda: index.trust.get(org.org_id, stack.stack_id) is not None)
        before = records(fleet("before", 2, ["s"], seed=1), 10)  # received before T: not judged by it
        after = records(fleet("after", 2, ["s"], seed=2), 10)  # received after T: untrusted
        await publish(postgres_log, org.org_id, stack.stack_id, before, received_ns=t_ns - 10**9)
        await publish(postgres_log, org.org_id, stack.stack_id, after, first_seq=10, received_ns=t_ns + 10**6)
        await eventually_true(lambda: index.handled() >= 20)
        assert await statuses(index, org.org_id) == {"before": {"valid", "unsigned"},
                                                     "after": {"untrusted", "unsigned"}}

        # The fleet's own key pinned at T2. Records received after T2 are indexed before the
        # index learns of the pin (not relayed yet): untrusted, alerts. When it learns of it,
        # it judges them again: valid, findings retracted, alerts closed by the system.
        own = await pins.pin(org.org_id, stack.stack_id, FLEET_KEY, added_by="user:test")
        t2_ns = int(own.added_at.timestamp() * 1e9)
        late = records(fleet("late", 2, ["s"], seed=3), 10)
        await publish(postgres_log, org.org_id, stack.stack_id, late, first_seq=20, received_ns=t2_ns + 10**6)
        await eventually_true(lambda: index.handled() >= 30)
        assert (await statuses(index, org.org_id))["late"] == {"untrusted", "unsigned"}
        late_signed = sum(1 for r in late if r.get("signature"))
        open_before = [a for a in await index.queries.alerts(org.org_id) if a.agent_id.startswith("late")]
        assert len(open_before) == late_signed
        assert await relay_pins(database, postgres_log) == 1
        await eventually_true(lambda: index.pin_sink.rejudged == late_signed)
        assert mutations(chdb, index.tables.dpr) == 0  # a correction is a finding retracted, not a row rewritten
        # Only the records received after T2 changed; what came before T2 keeps its verdict.
        assert await statuses(index, org.org_id) == {"before": {"valid", "unsigned"},
                                                     "after": {"untrusted", "unsigned"},
                                                     "late": {"valid", "unsigned"}}
        integrity = await index.queries.chain_integrity(org.org_id)
        assert _untrusted(integrity, stack.stack_id) == sum(1 for r in after if r.get("signature"))
        closed = {a.alert_id: a for a in await index.queries.alerts(org.org_id, include_acknowledged=True)}
        for alert in open_before:
            assert closed[alert.alert_id].acknowledged
            assert closed[alert.alert_id].acknowledged_by == "faramesh-cloud verifier"
            assert "pinned for this stack when Cloud received the record" in closed[alert.alert_id].acknowledged_note
    finally:
        await index.stop()


async def statuses(index: AuditIndex, org_id: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in await all_pages(index.queries, org_id, limit=500):
        out.setdefault(row.agent_id.split("-agent-")[0], set()).add(row.signature_status)
    return out


async def eventually_true(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not check():
            await asyncio.sleep(0.02)


async def test_a_batch_a_pin_change_overtook_is_judged_under_the_new_pins(
    database: Database, stack_store: StackStore, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    """The processor judged a batch under the pins it knew; before the batch is written another
    index process applies a pin that counts for those records: the sink judges them again (the
chain verifier's, issue 18)."""
    await migrate(database, [COMPONENT])
    org = await stack_store.create_org("acme", "Acme")
    stack, _ = await stack_store.register_stack(org.org_id, "s1")
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    await index.trust.refresh()
    received = time.time_ns()
    pushed = records(fleet("s1", 2, ["s"], seed=4), 10)
    await publish(postgres_log, org.org_id, stack.stack_id, pushed, received_ns=received)
    consumer = await postgres_log.consumer(DPR_RECORDS, "read-back")
    messages: list[Message] = []
    while len(messages) < len(pushed):
        messages.extend(await consumer.poll(max_records=100, timeout_s=1.0))
    await consumer.close()
    rows = [index._processor.process(m) for m in messages]
    assert {r.signature_status for r in rows} == {SignatureStatus.VALID, SignatureStatus.UNSIGNED}  # type: ignore[union-attr]

    other_process = PinSink(database, chdb, index.tables, TrustSnapshot(database))
    await other_process.write([PinEvent(SIGNING_KEYS, 0, 0, str(uuid.uuid4()), PinChange(
        org.org_id, stack.stack_id, "a" * 64, OTHER_KEY, True, received - 10**9), "user:test")])
    await index.sink.write([index._search_processor.process(m) for m in messages])  # type: ignore[misc]  # searchable
    await index.verifier_sink.write(rows)  # type: ignore[arg-type]  # then checked

    signed = sum(1 for r in pushed if r.get("signature"))
    assert index.verifier_sink.stats.rejudged == signed
    assert await statuses(index, org.org_id) == {"s1": {"untrusted", "unsigned"}}
    assert _untrusted(await index.queries.chain_integrity(org.org_id), stack.stack_id) == signed


async def test_an_unreadable_pin_event_is_dead_lettered_and_does_not_hold_the_start(
    database: Database, stack_store: StackStore, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str,
) -> None:
    """The index waits on start until it has read the pins the topic holds; one it cannot read,
    last on its partition, goes to the dead-letter topic with the reason and the start goes on."""
    await migrate(database, [COMPONENT])
    org = await stack_store.create_org("acme", "Acme")
    stack, _ = await stack_store.register_stack(org.org_id, "s1")
    await SigningKeyStore(database).pin(org.org_id, stack.stack_id, OTHER_KEY, added_by="user:test")
    assert await relay_pins(database, postgres_log) == 1
    await postgres_log.create_topic(DEAD_LETTERS, 1)
    await postgres_log.append(SIGNING_KEYS, [LogRecord(stack_key(org.org_id, stack.stack_id), b"\xff\xfe", {
        "org": org.org_id.encode(), "stack": stack.stack_id.encode(), "kind": b"SigningKeyPinned",
        "event-id": str(uuid.uuid4()).encode()})])
    index = await run_index(database, postgres_log, chdb, fast_config(olap_database), 0)
    assert index.trust.get(org.org_id, stack.stack_id) == frozenset({OTHER_KEY})
    [parked] = await read_topic(postgres_log, DEAD_LETTERS)
    assert b"not a signing-key event" in parked.headers["dlq-reason"]

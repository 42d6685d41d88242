"""What a person reads after the audit index's split (issue 18), on real parts: PostgresLog,
embedded PostgreSQL, chDB.

Records are written by the search index's sink only: the search shows them at once as
``verifying`` (and a state filter finds them). The chain verifier's sink then checks them:
they read ``verified``, a tampered one ``failed`` with its finding, and the verdict columns
equal what the record's own check says. Counts of the three states add up to the count
without a state filter, before, during and after. Nothing reads the stored verdict columns.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from faramesh_cloud.audit_index.clickhouse import SearchWriter
from faramesh_cloud.audit_index.client import AuditIndexClient
from faramesh_cloud.audit_index.domain import VERIFIER_PROJECTION, IndexedRecord
from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.processor import DprProcessor
from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.search_processor import SearchProcessor, SearchRow
from faramesh_cloud.audit_index.search_sink import SearchIndexSink
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.audit_index.verifier_sink import VerifierSink
from faramesh_cloud.audit_index.views import STATES, SearchFilters
from faramesh_cloud.events.topics import DPR_RECORDS
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from faramesh_cloud.stacks.store import StackStore
from tests.audit_adapters import audit_server
from tests.fixtures.gateway import sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.internal_tls import ServiceTls
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import all_pages, fast_config, fleet, publish, records

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG = "org-acme"
START, END = 0, 2**62


async def _messages(log: PostgresLog, count: int) -> list[Any]:
    consumer = await log.consumer(DPR_RECORDS, "read-back")
    messages: list[Any] = []
    while len(messages) < count:
        messages.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
    await consumer.close()
    return messages


async def _by_state(queries: AuditQueries) -> dict[str, set[str]]:
    out = {}
    for state in STATES:
        rows = await all_pages(queries, ORG, SearchFilters(state=state), limit=50)
        out[state] = {f"{r.stack_id}/{r.record_id}" for r in rows}
    return out


async def _counts_add_up(queries: AuditQueries, reader: IndexReader) -> dict[str, int]:
    """The three states' counts partition the count without a state filter (per effect, and
    through the evidence reads' ``count``)."""
    everything = await queries.counts_by_effect(ORG)
    per_state = {s: await queries.counts_by_effect(ORG, SearchFilters(state=s)) for s in STATES}
    summed: Counter[str] = Counter()
    for counts in per_state.values():
        summed.update(counts)
    assert dict(summed) == everything
    totals = {s: await reader.count(ORG, {"state": s}, None, None) for s in STATES}
    assert sum(totals.values()) == await reader.count(ORG, {}, None, None) == sum(everything.values())
    assert totals == {s: sum(c.values()) for s, c in per_state.items()}
    return totals


async def test_searchable_as_verifying_then_verified_or_failed_with_the_finding(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    # The split's reads: a row is checked once the chain verifier passed it.
    queries = AuditQueries(chdb, database, index.tables, verified_by=VERIFIER_PROJECTION)
    reader = IndexReader(chdb, database, index.tables, verified_by=VERIFIER_PROJECTION)
    good = records(fleet("stack-pay", 3, ["sess-1", "sess-2"], seed=0), 60)
    await publish(postgres_log, ORG, "stack-pay", good)
    tampered = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    await publish(postgres_log, ORG, "stack-evil", tampered, first_seq=1_000)
    messages = await _messages(postgres_log, len(good) + len(tampered))
    search_rows = [SearchProcessor().process(m) for m in messages]
    checked = [DprProcessor().process(m) for m in messages]
    assert all(isinstance(r, SearchRow) for r in search_rows)
    assert all(isinstance(r, IndexedRecord) for r in checked)
    everyone = {f"{r.stack_id}/{r.record_id}" for r in checked}  # type: ignore[union-attr]
    bad_hash = {f"{r.stack_id}/{r.record_id}" for r in checked if not r.hash_valid}  # type: ignore[union-attr]
    assert bad_hash  # the vector is tampered

    # 1. Searchable at once, every row verifying, its verdict columns unchecked.
    await SearchIndexSink(database, SearchWriter(chdb, index.tables)).write(search_rows)  # type: ignore[arg-type]
    rows = await all_pages(queries, ORG, limit=50)
    assert {f"{r.stack_id}/{r.record_id}" for r in rows} == everyone
    assert {(r.state, r.link_status, r.signature_status, r.hash_valid) for r in rows} == {
        ("verifying", "unchecked", "unchecked", False)}
    assert await _by_state(queries) == {"verifying": everyone, "verified": set(), "failed": set()}
    assert await _counts_add_up(queries, reader) == {"verifying": len(everyone), "verified": 0, "failed": 0}
    pending = (await queries.get_record(ORG, rows[0].record_id, stack_id=rows[0].stack_id))[0]
    assert pending.summary.state == "verifying" and pending.verifier_behind > 0 and pending.chain_index is None
    certificate = await reader.integrity_certificate(ORG, [], START, END)
    assert sum(c.records for c in certificate) == len(everyone)
    assert all(set(c.signatures) == {"unchecked"} and c.invalid_hashes == 0 for c in certificate)

    # 2. The verifier checks the first half of each partition's messages: those read
    # verified or failed, the rest still verifying; the counts still add up.
    by_partition: dict[int, list[IndexedRecord]] = {}
    for r in checked:
        by_partition.setdefault(r.partition, []).append(r)  # type: ignore[union-attr]
    first = [r for part in by_partition.values() for r in part[: len(part) // 2]]
    verifier = VerifierSink(database)
    await verifier.write(first)
    states = await _by_state(queries)
    done = {f"{r.stack_id}/{r.record_id}" for r in first}
    assert states["verifying"] == everyone - done
    assert states["verified"] | states["failed"] == done
    await _counts_add_up(queries, reader)

    # 3. The verifier has everything: good records verified, the tampered ones failed.
    await verifier.write(checked)  # type: ignore[arg-type]
    states = await _by_state(queries)
    assert states["verifying"] == set()
    assert bad_hash <= states["failed"]
    assert {k for k in everyone if k.startswith("stack-pay/")} <= states["verified"]
    totals = await _counts_add_up(queries, reader)
    assert totals["verifying"] == 0 and totals["failed"] == len(states["failed"])
    own = {(r.stack_id, r.record_id): r for r in checked}  # type: ignore[union-attr]
    for row in await all_pages(queries, ORG, limit=50):
        expected = own[(row.stack_id, row.record_id)]
        assert row.hash_valid == expected.hash_valid  # type: ignore[union-attr]
        assert row.signature_status == expected.signature_status.value  # type: ignore[union-attr]
        assert row.state in ("verified", "failed")
    for key in bad_hash:
        stack, record_id = key.split("/")
        (detail,) = await queries.get_record(ORG, record_id, stack_id=stack)
        assert detail.summary.state == "failed" and not detail.summary.hash_valid
        assert "record_hash_mismatch" in {f.kind for f in detail.findings}
        assert detail.verifier_behind == 0
    certificate = {(c.stack_id, c.agent_id): c for c in await reader.integrity_certificate(ORG, [], START, END)}
    assert sum(c.invalid_hashes for c in certificate.values()) == len(bad_hash)
    assert all("unchecked" not in c.signatures for c in certificate.values())
    signed = Counter(r.signature_status.value for r in checked)  # type: ignore[union-attr]
    assert sum((Counter(c.signatures) for c in certificate.values()), Counter()) == signed


async def test_rest_grpc_and_the_pages_carry_the_state_and_take_the_filter(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
    identity: Identity, stacks: StackStore, people: People, internal_tls: ServiceTls, tmp_path: Path,
) -> None:
    await migrate(database, [COMPONENT])
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.prepare()
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments")
    org = acme.org.org_id
    tampered = (vectors_dir / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    await publish(postgres_log, org, stack.stack_id, tampered)
    messages = await _messages(postgres_log, len(tampered))
    checked: list[IndexedRecord] = [DprProcessor().process(m) for m in messages]  # type: ignore[misc]
    bad = next(r for r in checked if not r.hash_valid)
    await SearchIndexSink(database, SearchWriter(chdb, index.tables)).write(
        [SearchProcessor().process(m) for m in messages])  # type: ignore[misc]
    truth = IndexReader(chdb, database, index.tables, verified_by=VERIFIER_PROJECTION)
    deps = explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path)
    app = create_app(static_status, web=dataclasses.replace(deps, audit=truth))
    auditor = await people.member(acme, Role.AUDITOR)

    async with (audit_server(truth, None, internal_tls) as server,
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web):
        grpc_reader = AuditIndexClient(server.address, internal_tls("gateway"))
        await sign_in(web, auditor.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"

        async def same_everywhere(state: str, expected: set[str]) -> None:
            """REST, gRPC and the index itself list, count and explain the same."""
            mine = await truth.search(org, {"state": state}, None, None, None, 1000)
            assert {r.record_id for r in mine.records} == expected
            assert await grpc_reader.search(org, {"state": state}, None, None, None, 1000) == mine
            rest = await web.get(f"{base}/records", params={"state": state, "limit": 1000})
            assert rest.status_code == 200, rest.text
            assert rest.json()["records"] == [dataclasses.asdict(r) for r in mine.records]
            counts = await truth.counts_by_effect(org, {"state": state}, None, None)
            assert await grpc_reader.counts_by_effect(org, {"state": state}, None, None) == counts
            assert (await web.get(f"{base}/counts", params={"state": state})).json() == counts
            assert await grpc_reader.count(org, {"state": state}, None, None) == sum(counts.values())

        every = {r.record_id for r in checked}
        await same_everywhere("verifying", every)
        await same_everywhere("failed", set())
        explained = (await web.get(f"{base}/records/{bad.record_id}")).json()["copies"][0]
        assert explained["summary"]["state"] == "verifying"
        assert explained["state"]["state"] == "verifying" and explained["state"]["verifier_behind"] > 0
        assert "not yet checked by the chain verifier" in explained["state"]["says"]
        assert await grpc_reader.get_record(org, bad.record_id) == await truth.get_record(org, bad.record_id)
        page = await web.get(f"/o/{acme.org.slug}/audit", params={"state": "verifying"})
        assert page.status_code == 200 and 'id="f-state"' in page.text
        assert page.text.count('data-state="verifying"') == len(every)
        assert (await web.get(f"{base}/records", params={"state": "maybe"})).status_code == 400
        with pytest.raises(ValueError, match="state"):
            await grpc_reader.search(org, {"state": "maybe"}, None, None, None, 10)

        await VerifierSink(database).write(checked)
        failed = {r.record_id for r in checked if not r.hash_valid}
        await same_everywhere("verifying", set())
        await same_everywhere("failed", failed)
        await same_everywhere("verified", every - failed)
        explained = (await web.get(f"{base}/records/{bad.record_id}")).json()["copies"][0]
        assert explained["state"]["state"] == "failed" and explained["state"]["verifier_behind"] == 0
        assert "record_hash_mismatch" in explained["state"]["findings"]
        says = explained["state"]["says"]
        assert says.startswith("Failed: ") and "record_hash_mismatch: record_hash" in says
        assert await grpc_reader.get_record(org, bad.record_id) == await truth.get_record(org, bad.record_id)
        page = await web.get(f"/o/{acme.org.slug}/audit/records/{bad.record_id}")
        assert page.status_code == 200 and 'id="verification-state" data-state="failed"' in page.text
        await grpc_reader.close()

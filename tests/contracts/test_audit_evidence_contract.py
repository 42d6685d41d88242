"""One contract for the audit index's evidence reads (what compliance measures and reports
from), held by both adapters: ``IndexReader`` in process and ``AuditIndexClient`` over real
mutual TLS to the index's real servicer (``tests/audit_adapters.py``), and checked against
what was published, computed here from the records themselves.

The data: acme has two stacks (three agents on one, two on the other, one agent whose second
record was edited after hashing: a critical finding) and unverified decision summaries on
the first; beta has one stack. All published on the real log and indexed by the real service
into real PostgreSQL and chDB. Every read is scoped to the organisation, honours the stacks
asked for and the half-open range [start, end); summaries are counted apart from DPRs."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from faramesh_cloud.audit_index.client import AuditIndexClient
from faramesh_cloud.audit_index.evidence_views import ChainCertificate
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.dpr.timefmt import created_at_nanos
from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.errors import ServiceUnavailable
from faramesh_cloud.signing.bundle import build_bundle, sign_bundle
from faramesh_cloud.signing.dpr_bundle import KIND, chain_facts, entry, verify_dpr_bundle
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.audit_adapters import WAIT_S, AuditGateway, audit_server, both_audit_adapters  # noqa: F401
from tests.fixtures.internal_tls import ServiceTls
from tests.integration.audit_support import BASE_NS, fast_config, fleet, publish, records

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc, pytest.mark.integration]

STEP = 1_000_003  # audit_support.records' spacing
WIDE = (BASE_NS - 10**12, BASE_NS + 10 * 10**12)  # every record


@dataclasses.dataclass
class Org:
    org_id: str
    stacks: list[str]
    dprs: list[dict[str, Any]]  # every published DPR, with "stack" added
    summaries: list[dict[str, Any]]  # unverified: effect, created_ns, stack
    edited: dict[str, Any] | None


def _ns(record: dict[str, Any]) -> int:
    return created_at_nanos(record["created_at"])


async def _summaries(log: PostgresLog, org: str, stack: str, count: int) -> list[dict[str, Any]]:
    await log.create_topic(LEGACY_DECISIONS, DEFAULT_PARTITIONS[LEGACY_DECISIONS])
    out, batch = [], []
    for i in range(count):
        created = BASE_NS + 7 * STEP + i * 2 * STEP
        effect = ("DENY", "PERMIT")[i % 2]
        event = LegacyDecision(source=SOURCE_HORIZON, effect=effect,
                               timestamp=datetime.fromtimestamp(created / 1e9, UTC).isoformat().replace("+00:00", "Z"),
                               decided_at_ns=created, record_id=f"legacy-{org[:6]}-{i}", agent_id="legacy-bot",
                               tool_id="http.get", latency_ms=1)
        batch.append(LogRecord(stack_key(org, stack), event.to_json(),
                               Origin(org, stack, SOURCE_HORIZON, i, "req", BASE_NS + 10**13 + i).headers()))
        out.append({"effect": effect, "created_ns": created // 1000 * 1000, "stack": stack})
    await log.append(LEGACY_DECISIONS, batch)
    return out


async def _org(stacks: StackStore, log: PostgresLog, slug: str, sizes: list[int], seed: int,
               legacy: int) -> Org:
    org_id = (await stacks.create_org(slug, slug.title())).org_id
    names, dprs = [], []
    for n, size in enumerate(sizes):
        stack, _ = await stacks.register_stack(org_id, f"stack-{n}")
        pushed = records(fleet(stack.stack_id, 3 - n, ["s"], seed + n), size)
        await publish(log, org_id, stack.stack_id, pushed, first_seq=n * 1000)
        names.append(stack.stack_id)
        dprs += [{**r, "stack": stack.stack_id} for r in pushed]
    edited = None
    if legacy:
        writer = AgentWriter(f"tampered-{slug}", random.Random(seed), ed25519_seed=b"\x07" * 32, hmac_key=b"k",
                             signed_share=0.0, sessions=["t"])
        tampered = [writer.next(BASE_NS + 40 * STEP + i * STEP) for i in range(3)]
        tampered[1] = {**tampered[1], "matched_rule_id": "rule-edited"}  # record_hash left as written
        await publish(log, org_id, names[0], tampered, first_seq=10_000)
        dprs += [{**r, "stack": names[0]} for r in tampered]
        edited = tampered[1]
    summaries = await _summaries(log, org_id, names[0], legacy) if legacy else []
    return Org(org_id, names, dprs, summaries, edited)


@dataclasses.dataclass
class Indexed:
    acme: Org
    beta: Org


@pytest.fixture
async def indexed(database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str,
                  stacks: StackStore) -> Indexed:
    acme = await _org(stacks, postgres_log, "acme", [30, 12], 11, legacy=4)
    beta = await _org(stacks, postgres_log, "beta", [9], 21, legacy=0)
    index = AuditIndex(database, postgres_log, chdb, fast_config(olap_database))
    await index.start()
    try:  # the real service, until it has consumed every DPR and every summary
        async with asyncio.timeout(WAIT_S * 2):
            while (index.handled() < len(acme.dprs) + len(beta.dprs)
                   or index.legacy_runner.stats.messages < len(acme.summaries)):
                failure = index.failure()
                if failure is not None:
                    raise failure
                await asyncio.sleep(0.02)
    finally:
        await index.stop()
    return Indexed(acme, beta)


def _within(org: Org, start: int, end: int, stacks: list[str]) -> list[dict[str, Any]]:
    return [r for r in org.dprs if start <= _ns(r) < end and (not stacks or r["stack"] in stacks)]


async def test_decision_stats_count_verified_dprs_per_bucket_and_summaries_apart(
        audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, truth, acme = audit_gateway.reader, audit_gateway.truth, indexed.acme
    start, end = _ns(acme.dprs[3]), _ns(acme.dprs[25])  # half-open: record 3 in, record 25 out
    bucket = 5 * STEP
    stats = await reader.decision_stats(acme.org_id, [], start, end, bucket, top=3)
    assert stats == await truth.decision_stats(acme.org_id, [], start, end, bucket, top=3)
    mine = _within(acme, start, end, [])
    assert any(_ns(r) == start for r in mine) and not any(_ns(r) == end for r in mine)
    assert stats.total == len(mine) and stats.by_effect == dict(sorted(Counter(r["effect"] for r in mine).items()))
    assert len(stats.buckets) == -(-(end - start) // bucket)
    for b in stats.buckets:
        inside = [r for r in mine if b.start_ns <= _ns(r) < b.start_ns + bucket]
        assert b.counts == dict(sorted(Counter(r["effect"] for r in inside).items()))
    tools = Counter(r["tool_id"] for r in mine)
    assert [(t.name, t.count) for t in stats.top_tools] == sorted(tools.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    agents = Counter(r["agent_id"] for r in mine)
    assert [(a.name, a.count) for a in stats.top_agents] == sorted(agents.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    rules = Counter(r["matched_rule_id"] for r in mine)
    assert [(a.name, a.count) for a in stats.top_rules] == sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert stats.deny_rate == pytest.approx(sum(r["effect"] == "DENY" for r in mine) / len(mine))
    summaries = [s for s in acme.summaries if start <= s["created_ns"] < end]
    assert summaries and stats.unverified_total == len(summaries)
    assert stats.unverified_by_effect == dict(sorted(Counter(s["effect"] for s in summaries).items()))

    second = acme.stacks[1]
    only = await reader.decision_stats(acme.org_id, [second], *WIDE, 10**12)
    assert only.total == len(_within(acme, *WIDE, [second])) and only.unverified_total == 0
    assert {a.name for a in only.top_agents} == {r["agent_id"] for r in acme.dprs if r["stack"] == second}
    empty = await reader.decision_stats(acme.org_id, [], BASE_NS - 10**12, BASE_NS - 1, 10**11)
    assert (empty.total, empty.deny_rate, empty.top_tools, empty.unverified_total) == (0, 0.0, [], 0)
    assert len(empty.buckets) == 10 and all(b.counts == {} for b in empty.buckets)


def _decided_by(record: dict[str, Any]) -> str:
    """What decided a call (FPL.md §11): its rule; with no rule id, the default (UNMATCHED_*) or
    a guard that decides before any rule (kill switch, budget)."""
    if record["matched_rule_id"]:
        return "rule"
    return "default" if str(record["reason_code"]).startswith("UNMATCHED") else "guard"


async def test_tool_usage_and_its_sample_records(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, truth, acme = audit_gateway.reader, audit_gateway.truth, indexed.acme
    start, end = _ns(acme.dprs[2]), _ns(acme.dprs[28])
    usage = await reader.tool_usage(acme.org_id, [acme.stacks[0]], start, end)
    assert usage == await truth.tool_usage(acme.org_id, [acme.stacks[0]], start, end)
    expected = Counter((r["stack"], r["agent_id"], r["tool_id"], r["matched_rule_id"], r["effect"],
                        _decided_by(r)) for r in _within(acme, start, end, [acme.stacks[0]]))
    assert [(u.stack_id, u.agent_id, u.tool_id, u.matched_rule_id, u.effect, u.decided_by, u.calls)
            for u in usage] == sorted((*k, n) for k, n in expected.items())
    assert {u.decided_by for u in usage} >= {"rule", "default"}  # the simulated policy's default decides some

    top = max(usage, key=lambda u: u.calls)
    samples = await reader.sample_records(acme.org_id, top.stack_id, top.agent_id, top.tool_id, start, end, 2)
    assert samples == await truth.sample_records(acme.org_id, top.stack_id, top.agent_id, top.tool_id, start, end, 2)
    calls = sum(u.calls for u in usage if (u.agent_id, u.tool_id) == (top.agent_id, top.tool_id))
    assert len(samples) == min(2, calls)
    assert all((s.stack_id, s.agent_id, s.tool_id, s.verification) == (top.stack_id, top.agent_id, top.tool_id,
                                                                       "verified") for s in samples)
    assert all(start <= s.created_ns < end for s in samples)
    assert [s.created_ns for s in samples] == sorted((s.created_ns for s in samples), reverse=True)


async def test_integrity_certificate_per_agent_chain(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, truth, acme = audit_gateway.reader, audit_gateway.truth, indexed.acme
    certificates = await reader.integrity_certificate(acme.org_id, [], *WIDE)
    assert certificates == await truth.integrity_certificate(acme.org_id, [], *WIDE)
    chains = {(r["stack"], r["agent_id"]) for r in acme.dprs}
    assert [(c.stack_id, c.agent_id) for c in certificates] == sorted(chains)
    held = {(a.stack_id, a.agent_id): a for s in await truth.chain_integrity(acme.org_id) for a in s.agents}
    for c in certificates:
        theirs = [r for r in acme.dprs if (r["stack"], r["agent_id"]) == (c.stack_id, c.agent_id)]
        assert c.records == len(theirs) and c.duplicates == 0
        assert c.head is not None and c.first is not None
        assert (c.head.record_id, c.head.record_hash, c.head.chain_index) == (
            theirs[-1]["record_id"], theirs[-1]["record_hash"], len(theirs) - 1)
        assert (c.first.record_id, c.first.chain_index) == (theirs[0]["record_id"], 0)
        agent = held[(c.stack_id, c.agent_id)]
        assert (c.chain_length, c.segments, c.tip_hash, c.verified_ns) == (
            agent.chain_length, agent.segments, agent.tip_hash, agent.last_verified_ns)
    assert acme.edited is not None
    [bad] = [c for c in certificates if c.agent_id == acme.edited["agent_id"]]
    assert not bad.intact and bad.invalid_hashes == 1
    assert [f.record_id for f in bad.findings if f.kind == "record_hash_mismatch"] == [acme.edited["record_id"]]
    assert all(c.intact for c in certificates if c is not bad)

    # A range that ends before the edited record: its chain has its first record only, no finding.
    first_only = _ns(acme.edited) - STEP // 2
    early = await reader.integrity_certificate(acme.org_id, [acme.stacks[0]], _ns(acme.dprs[0]), first_only)
    assert early == await truth.integrity_certificate(acme.org_id, [acme.stacks[0]], _ns(acme.dprs[0]), first_only)
    assert {c.stack_id for c in early} == {acme.stacks[0]}
    [chain] = [c for c in early if c.agent_id == acme.edited["agent_id"]]
    assert (chain.records, chain.findings, chain.head and chain.head.chain_index) == (1, [], 0)
    assert all(isinstance(c, ChainCertificate) and c.intact for c in early)


async def test_export_range_streams_exact_bytes_in_chain_order(audit_gateway: AuditGateway,
                                                                indexed: Indexed) -> None:
    reader, truth, acme = audit_gateway.reader, audit_gateway.truth, indexed.acme
    start, end = _ns(acme.dprs[1]), _ns(acme.dprs[35])
    exported = [r async for r in reader.export_range(acme.org_id, [], start, end, page_size=4)]
    assert exported == [r async for r in truth.export_range(acme.org_id, [], start, end)]
    mine = _within(acme, start, end, [])
    assert sorted(r.record_id for r in exported) == sorted(r["record_id"] for r in mine)
    order = [(r.stack_id, r.agent_id, r.chain_index) for r in exported]
    assert all(i is not None for _, _, i in order) and order == sorted(order)  # type: ignore[type-var]
    by_id = {r["record_id"]: r for r in mine}
    assert all(r.raw == to_go_json(by_id[r.record_id]).decode() for r in exported)  # the daemon's exact bytes

    # The export is what the signed DPR bundle takes: every hash and link checks out.
    key = Ed25519PrivateKey.generate()
    entries = [entry(r) for r in exported]
    bundle = sign_bundle(build_bundle(kind=KIND, org={"id": acme.org_id}, entries=entries,
                                      chain=chain_facts(entries), created_at=datetime.now(UTC)), key)
    report = verify_dpr_bundle(bundle, key.public_key())
    chains = len({(r.stack_id, r.agent_id) for r in exported})
    assert report.problems == [] and f"{len(exported) - chains} chain links checked" in report.notes[0]

    second = [r async for r in reader.export_range(acme.org_id, [acme.stacks[1]], *WIDE, page_size=5)]
    assert {r.stack_id for r in second} == {acme.stacks[1]} and len(second) == 12


async def test_export_range_pages_its_pass_and_spills_by_chain_giving_the_same_records(
        audit_gateway: AuditGateway, indexed: Indexed, chdb: Olap, olap_database: str, database: Database) -> None:
    """The export reads the range in windows of the table's own order and buckets them by
    chain on a spill file: with windows of ~3 rows, every row spilled at once and positions
    asked 2 at a time, each chain still comes out whole, in chain order, with its positions,
    as one big window gives."""
    from faramesh_cloud.audit_index.evidence import EvidenceReads
    from faramesh_cloud.audit_index.schema import AuditTables

    acme = indexed.acme
    small = EvidenceReads(chdb, database, AuditTables(olap_database), scan_rows=3, spill_buffer_bytes=1,
                          positions_batch=2)
    for stacks, (start, end) in (([], WIDE), ([acme.stacks[0]], (_ns(acme.dprs[3]), _ns(acme.dprs[29])))):
        exported = [r async for r in small.export_range(acme.org_id, stacks, start, end, page_size=2)]
        assert exported == [r async for r in audit_gateway.truth.export_range(acme.org_id, stacks, start, end)]
        mine = _within(acme, start, end, stacks)
        assert sorted(r.record_id for r in exported) == sorted(r["record_id"] for r in mine)
        chains = [(r.stack_id, r.agent_id) for r in exported]
        assert chains == sorted(chains) and len(set(chains)) > 1
        for chain in set(chains):
            indices = [r.chain_index for r in exported if (r.stack_id, r.agent_id) == chain and r.chain_index is not None]
            assert indices == sorted(indices) and len(set(indices)) == len(indices)


async def test_count_takes_the_audit_search_filters(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, truth, acme = audit_gateway.reader, audit_gateway.truth, indexed.acme
    start, end = _ns(acme.dprs[4]), _ns(acme.dprs[25])
    mine = _within(acme, start, end, [])
    for filters in ({}, {"effect": "DENY"}, {"stack_id": acme.stacks[1], "effect": "PERMIT"},
                    {"tool_id": mine[0]["tool_id"], "agent_id": mine[0]["agent_id"]}):
        found = await reader.count(acme.org_id, filters, start, end)
        assert found == await truth.count(acme.org_id, filters, start, end)
        names = {"rule_id": "matched_rule_id", "stack_id": "stack"}
        assert found == sum(all(r[names.get(k, k)] == v for k, v in filters.items()) for r in mine)
        page = await truth.search(acme.org_id, {**filters, "verification": "verified"}, start, end, None, 1000)
        assert found == len(page.records)  # what the Audit search link shows
    assert await reader.count(acme.org_id, {}, None, None, [acme.stacks[1]]) == 12
    assert await reader.count(acme.org_id, {}, None, None) == len(acme.dprs)
    assert await reader.count(acme.org_id, {"verification": "unverified"}, None, None) == len(acme.summaries)
    assert await reader.count(acme.org_id, {"verification": "unverified", "effect": "DENY"}, None, None) == sum(
        s["effect"] == "DENY" for s in acme.summaries)


async def test_no_evidence_read_shows_one_organisation_anothers(audit_gateway: AuditGateway,
                                                                indexed: Indexed) -> None:
    reader, acme, beta = audit_gateway.reader, indexed.acme, indexed.beta
    stats = await reader.decision_stats(beta.org_id, [], *WIDE, 10**12)
    assert stats.total == len(beta.dprs) and stats.unverified_total == 0
    assert {a.name for a in stats.top_agents} == {r["agent_id"] for r in beta.dprs}
    theirs = acme.stacks
    assert (await reader.decision_stats(beta.org_id, theirs, *WIDE, 10**12)).total == 0
    assert {u.stack_id for u in await reader.tool_usage(beta.org_id, [], *WIDE)} == set(beta.stacks)
    assert await reader.tool_usage(beta.org_id, theirs, *WIDE) == []
    a = acme.dprs[0]
    assert await reader.sample_records(beta.org_id, a["stack"], a["agent_id"], a["tool_id"], *WIDE) == []
    assert {c.stack_id for c in await reader.integrity_certificate(beta.org_id, [], *WIDE)} == set(beta.stacks)
    assert await reader.integrity_certificate(beta.org_id, theirs, *WIDE) == []
    exported = [r async for r in reader.export_range(beta.org_id, [], *WIDE)]
    assert {r.stack_id for r in exported} == set(beta.stacks) and len(exported) == len(beta.dprs)
    assert [r async for r in reader.export_range(beta.org_id, theirs, *WIDE)] == []
    assert await reader.count(beta.org_id, {}, None, None) == len(beta.dprs)
    assert await reader.count(beta.org_id, {"stack_id": theirs[0]}, None, None) == 0
    assert await reader.count(beta.org_id, {}, None, None, theirs) == 0


async def test_evidence_reads_refuse_what_they_cannot_answer(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, org = audit_gateway.reader, indexed.acme.org_id
    with pytest.raises(ValueError, match="range"):
        await reader.decision_stats(org, [], BASE_NS, BASE_NS, 10)
    with pytest.raises(ValueError, match="bucket"):
        await reader.decision_stats(org, [], BASE_NS, BASE_NS + 10**12, 1)  # 10^12 buckets
    with pytest.raises(ValueError, match="bucket"):
        await reader.decision_stats(org, [], BASE_NS, BASE_NS + 10**12, 0)
    with pytest.raises(ValueError, match="range"):
        await reader.tool_usage(org, [], BASE_NS + 1, BASE_NS)
    with pytest.raises(ValueError, match="range"):
        await reader.integrity_certificate(org, [], BASE_NS + 1, BASE_NS)
    with pytest.raises(ValueError, match="range"):
        await reader.sample_records(org, "s", "a", "t", BASE_NS + 1, BASE_NS, 5)
    with pytest.raises(ValueError, match="limit"):
        await reader.sample_records(org, "s", "a", "t", BASE_NS, BASE_NS + 1, 0)
    with pytest.raises(ValueError, match="range"):
        _ = [r async for r in reader.export_range(org, [], BASE_NS + 1, BASE_NS)]
    with pytest.raises(ValueError, match="page_size"):
        _ = [r async for r in reader.export_range(org, [], *WIDE, page_size=5000)]
    with pytest.raises(ValueError, match="verification"):
        await reader.count(org, {"verification": "maybe"}, None, None)
    with pytest.raises(TypeError):
        await reader.count(org, {"colour": "red"}, None, None)
    with pytest.raises(ValueError, match="org_id"):
        await reader.count("", {}, None, None)
    assert await reader.count(org, {}, None, None) > 0  # still answering


async def test_the_compliance_service_may_read_the_index_over_grpc_and_change_nothing(
        audit_gateway: AuditGateway, indexed: Indexed, internal_tls: ServiceTls) -> None:
    """``compliance`` is admitted to the evidence reads, method by method: acknowledging an
    alert (a person's change) stays the gateway's."""
    if audit_gateway.kind != "grpc":
        pytest.skip("the caller allow-list is the gRPC adapter's")
    async with audit_server(audit_gateway.truth, None, internal_tls) as server:
        client = AuditIndexClient(server.address, internal_tls("compliance"))
        try:
            org = indexed.acme.org_id
            assert await client.count(org, {}, None, None) == len(indexed.acme.dprs)
            assert await client.chain_integrity(org)
            with pytest.raises(ServiceUnavailable, match="may not call"):
                await client.acknowledge_alert(org, 1, "not mine", Actor.system("compliance"))
            with pytest.raises(ServiceUnavailable, match="may not call"):
                await client.alerts(org)
        finally:
            await client.close()

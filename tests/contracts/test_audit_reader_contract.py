"""One contract for the gateway's view of the audit index (its ``AuditReader`` port, what Home
and Fleet read through ``IndexFleetAudit``, and the commit wake-ups of the live views), held
by both adapters: the index's own ``IndexReader`` in process, and ``AuditIndexClient`` /
``CommitWatchClient`` talking to the index's real servicer over real mutual TLS on 127.0.0.1
(``tests/audit_adapters.py``).

The data: two organisations' DPRs (a shared session name, a delegation, a record edited after
hashing in each: one critical alert each), published on the real log and indexed by the real
service into real PostgreSQL and chDB. Every method answers what the index itself answers,
value for value (record bytes included); no method shows one organisation another's records,
alerts or cursors; a cursor the index did not issue is a ``ValueError``; acknowledging an
alert is refused for another organisation's alert (``LookupError``) and for one already
acknowledged (naming who did); and a commit of the index wakes the watchers of that
organisation."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import pytest

from faramesh_cloud.audit_index.alert_events import AlreadyAcknowledged
from faramesh_cloud.audit_index.views import ChainRecord, RecordDetail
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.audit_adapters import WAIT_S, AuditGateway, both_audit_adapters  # noqa: F401
from tests.integration.audit_support import BASE_NS, fast_config, fleet, publish, records, run_index

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.grpc, pytest.mark.integration]

OLGA = Actor(ActorType.USER, "u-1", "olga@example.test", "10.0.0.1")
PETE = Actor(ActorType.USER, "u-2", "pete@example.test")
FILTERS = ("stack_id", "agent_id", "session_id", "effect", "action_type", "tool_id", "rule_id")


@dataclasses.dataclass
class Org:
    org_id: str
    stack_id: str
    pushed: list[dict[str, Any]]
    edited: dict[str, Any]  # the record edited after hashing (its alert)
    boss: str
    worker: str


def _tampered(agent: str, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    writer = AgentWriter(agent, random.Random(seed), ed25519_seed=b"\x07" * 32, hmac_key=b"k", signed_share=0.0,
                         sessions=["tampered"])
    pushed = [writer.next(BASE_NS + 5 * 10**12 + i * 1_000_000) for i in range(3)]
    pushed[1] = {**pushed[1], "matched_rule_id": "rule-edited"}  # record_hash left as the daemon wrote it
    return pushed, pushed[1]


async def _org(stacks: StackStore, log: PostgresLog, slug: str, count: int, seed: int) -> Org:
    org_id = (await stacks.create_org(slug, slug.title())).org_id
    stack, _ = await stacks.register_stack(org_id, "payments-prod")
    writers = fleet(stack.stack_id, 3, ["shared"], seed)
    pushed = records(writers, count)
    boss, worker = writers[0], writers[1]
    pushed.append(worker.next(BASE_NS + 10**12, invoked_by_agent_id=boss.agent_id,
                              invoked_by_dpr_record_id=pushed[0]["record_id"], session_id="shared"))
    tampered, edited = _tampered(f"tampered-{slug}", seed)
    await publish(log, org_id, stack.stack_id, pushed)
    await publish(log, org_id, stack.stack_id, tampered, first_seq=10_000)
    return Org(org_id, stack.stack_id, pushed + tampered, edited, boss.agent_id, worker.agent_id)


@dataclasses.dataclass
class Indexed:
    acme: Org
    beta: Org


@pytest.fixture
async def indexed(database: Database, postgres_log: PostgresLog, chdb: Olap, olap_database: str,
                  stacks: StackStore) -> Indexed:
    acme = await _org(stacks, postgres_log, "acme", 30, 7)
    beta = await _org(stacks, postgres_log, "beta", 12, 8)
    await run_index(database, postgres_log, chdb, fast_config(olap_database), len(acme.pushed) + len(beta.pushed))
    return Indexed(acme, beta)


async def _pages(reader: Any, org_id: str, filters: dict[str, str], limit: int = 7) -> list[Any]:
    out, cursor = [], None
    while True:
        page = await reader.search(org_id, filters, None, None, cursor, limit)
        out.append(page)
        if page.next_cursor is None:
            return out
        cursor = page.next_cursor


async def test_every_read_answers_what_the_index_answers(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, truth, acme = audit_gateway.reader, audit_gateway.truth, indexed.acme
    org = acme.org_id

    pages = await _pages(reader, org, {})
    assert pages == await _pages(truth, org, {})
    found = [r for page in pages for r in page.records]
    assert sorted(r.record_id for r in found) == sorted(r["record_id"] for r in acme.pushed)
    assert [r.created_ns for r in found] == sorted((r.created_ns for r in found), reverse=True)
    assert len(pages) == -(-len(acme.pushed) // 7)
    session = {"session_id": "shared", "agent_id": acme.worker}
    assert await _pages(reader, org, session, 3) == await _pages(truth, org, session, 3)
    ranged = (org, {"stack_id": acme.stack_id}, BASE_NS, BASE_NS + 10 * 1_000_003)
    assert await reader.search(*ranged, None, 100) == await truth.search(*ranged, None, 100)

    counts = await reader.counts_by_effect(org, {}, None, None)
    assert counts == await truth.counts_by_effect(org, {}, None, None)
    assert sum(counts.values()) == len(acme.pushed)
    assert await reader.counts_by_effect(*ranged) == await truth.counts_by_effect(*ranged)

    [copy] = await reader.get_record(org, acme.pushed[5]["record_id"])
    assert isinstance(copy, RecordDetail)
    assert [copy] == await truth.get_record(org, acme.pushed[5]["record_id"])
    assert copy.record()["record_id"] == acme.pushed[5]["record_id"] and copy.chain_index is not None
    [edited] = await reader.get_record(org, acme.edited["record_id"])
    assert [f.kind for f in edited.findings] == ["record_hash_mismatch"] and not edited.summary.hash_valid
    assert [edited] == await truth.get_record(org, acme.edited["record_id"])
    assert await reader.get_record(org, "no-such-record") == []

    middle = copy.summary
    around = await reader.neighbours(org, middle.stack_id, middle.agent_id, middle.record_hash, copy.prev_record_hash)
    assert around == await truth.neighbours(org, middle.stack_id, middle.agent_id, middle.record_hash,
                                            copy.prev_record_hash)
    assert all(isinstance(r, ChainRecord) for r in around) and around[1] is not None
    assert around[1].prev_record_hash == middle.record_hash

    ids = [r["record_id"] for r in acme.pushed]
    exported = await reader.records_with_bytes(org, ids)
    assert exported == await truth.records_with_bytes(org, ids)
    assert {r.record_id for r in exported} == set(ids)
    raws = {r.record_id: r.raw for r in exported}
    assert all(raws[r["record_id"]] == to_go_json(r).decode() for r in acme.pushed[:10])  # the daemon's bytes

    timeline = await reader.session_timeline(org, "shared", None, 5)
    assert timeline == await truth.session_timeline(org, "shared", None, 5)
    more = await reader.session_timeline(org, "shared", timeline.next_cursor, 5)
    assert more == await truth.session_timeline(org, "shared", timeline.next_cursor, 5)
    assert [r.created_ns for r in timeline.records + more.records] == sorted(
        r.created_ns for r in timeline.records + more.records)

    tail = await reader.recent(org, 10, None)
    assert tail == await truth.recent(org, 10, None)
    since = await reader.recent(org, 1000, reader.tail_cursor(5))
    assert since == await truth.recent(org, 1000, truth.tail_cursor(5))
    assert [r.org_seq for r in since.records] == list(range(6, len(acme.pushed)))
    assert reader.tail_seq(since.cursor) == len(acme.pushed) - 1

    integrity = await reader.chain_integrity(org)
    assert integrity == await truth.chain_integrity(org)
    assert sum(s.chain_length for s in integrity) > 0 and integrity[0].critical_findings >= 1
    assert await reader.chain_integrity(org, acme.stack_id) == integrity

    [alert] = await reader.alerts(org)
    assert [alert] == await truth.alerts(org) and alert.record_id == acme.edited["record_id"]
    assert await reader.alert(org, alert.alert_id) == alert

    fleet_port = audit_gateway.fleet
    assert [r.record_id for r in await fleet_port.recent(org, 5)] == [r.record_id for r in reversed(tail.records[-5:])]
    mine = await fleet_port.agent_records(org, acme.stack_id, acme.worker)
    assert mine and {r.agent_id for r in mine} == {acme.worker}
    assert sum((await fleet_port.effect_counts(org, acme.stack_id, acme.worker)).values()) == len(mine)
    [edge] = await fleet_port.delegations(org, acme.stack_id, 0)
    assert [edge] == await truth.delegations(org, acme.stack_id, 0)
    assert (edge.parent, edge.child, edge.records, edge.parent_on_stack) == (acme.boss, acme.worker, 1, True)
    versions = await fleet_port.policy_versions(org, [acme.stack_id], 0)
    assert versions == await truth.policy_versions(org, [acme.stack_id], 0)
    assert sum(v.records for v in versions) == len(acme.pushed)


async def test_no_read_shows_one_organisation_anothers(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, acme, beta = audit_gateway.reader, indexed.acme, indexed.beta
    theirs = {r["record_id"] for r in acme.pushed}
    seen = [r for page in await _pages(reader, beta.org_id, {}) for r in page.records]
    assert seen and {r.org_id for r in seen} == {beta.org_id} and not theirs & {r.record_id for r in seen}
    assert await reader.search(beta.org_id, {"stack_id": acme.stack_id}, None, None, None, 100) == (
        await audit_gateway.truth.search(beta.org_id, {"stack_id": acme.stack_id}, None, None, None, 100))
    assert (await reader.search(beta.org_id, {"stack_id": acme.stack_id}, None, None, None, 100)).records == []
    assert sum((await reader.counts_by_effect(beta.org_id, {}, None, None)).values()) == len(beta.pushed)
    assert await reader.counts_by_effect(beta.org_id, {"stack_id": acme.stack_id}, None, None) == {}
    assert await reader.get_record(beta.org_id, acme.pushed[0]["record_id"]) == []
    [copy] = await reader.get_record(acme.org_id, acme.pushed[5]["record_id"])
    s = copy.summary
    assert await reader.neighbours(beta.org_id, s.stack_id, s.agent_id, s.record_hash, copy.prev_record_hash) == (
        None, None)
    assert await reader.records_with_bytes(beta.org_id, list(theirs)) == []
    shared = (await reader.session_timeline(beta.org_id, "shared", None, 1000)).records
    assert shared and {r.org_id for r in shared} == {beta.org_id}
    # A cursor of acme's search, handed in by beta, pages beta's records only.
    acme_cursor = (await reader.search(acme.org_id, {}, None, None, None, 3)).next_cursor
    after = await reader.search(beta.org_id, {}, None, None, acme_cursor, 1000)
    assert {r.org_id for r in after.records} <= {beta.org_id}
    assert {r.org_id for r in (await reader.recent(beta.org_id, 1000, None)).records} == {beta.org_id}
    assert {s.stack_id for s in await reader.chain_integrity(beta.org_id)} == {beta.stack_id}
    assert await reader.chain_integrity(beta.org_id, acme.stack_id) == []
    [acme_alert] = await reader.alerts(acme.org_id)
    [beta_alert] = await reader.alerts(beta.org_id)
    assert beta_alert.alert_id != acme_alert.alert_id and beta_alert.org_id == beta.org_id
    assert await reader.alert(beta.org_id, acme_alert.alert_id) is None
    with pytest.raises(LookupError):
        await reader.acknowledge_alert(beta.org_id, acme_alert.alert_id, "not ours", OLGA)
    assert not (await reader.alert(acme.org_id, acme_alert.alert_id)).acknowledged
    assert await reader.delegations(beta.org_id, acme.stack_id, 0) == []
    assert await reader.policy_versions(beta.org_id, [acme.stack_id], 0) == []


async def test_requests_the_index_cannot_read_are_value_errors(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, org = audit_gateway.reader, indexed.acme.org_id
    search_cursor = (await reader.search(org, {}, None, None, None, 3)).next_cursor
    session_cursor = (await reader.session_timeline(org, "shared", None, 3)).next_cursor
    assert search_cursor is not None and session_cursor is not None
    for bad in ("not-a-cursor", session_cursor):  # garbage, and a cursor of another query
        with pytest.raises(ValueError, match="cursor"):
            await reader.search(org, {}, None, None, bad, 10)
    with pytest.raises(ValueError, match="cursor"):
        await reader.session_timeline(org, "shared", search_cursor, 10)
    with pytest.raises(ValueError, match="cursor"):
        await reader.recent(org, 10, search_cursor)
    with pytest.raises(ValueError, match="cursor"):
        reader.tail_seq(search_cursor)
    with pytest.raises(ValueError, match="limit"):
        await reader.search(org, {}, None, None, None, 0)
    with pytest.raises(ValueError, match="verification"):
        await reader.search(org, {"verification": "maybe"}, None, None, None, 10)
    with pytest.raises(ValueError, match="at most"):
        await reader.records_with_bytes(org, [f"id-{i}" for i in range(1001)])
    assert (await reader.search(org, {}, None, None, None, 3)).records  # still answering


async def test_acknowledging_an_alert_and_its_refusals(audit_gateway: AuditGateway, indexed: Indexed) -> None:
    reader, org = audit_gateway.reader, indexed.acme.org_id
    [alert] = await reader.alerts(org)
    with pytest.raises(LookupError):
        await reader.acknowledge_alert(org, alert.alert_id + 1000, "which one?", OLGA)
    with pytest.raises(ValueError, match="note"):
        await reader.acknowledge_alert(org, alert.alert_id, "   ", OLGA)
    results = await asyncio.gather(reader.acknowledge_alert(org, alert.alert_id, "olga looked", OLGA),
                                   reader.acknowledge_alert(org, alert.alert_id, "pete looked", PETE),
                                   return_exceptions=True)
    [won] = [r for r in results if not isinstance(r, BaseException)]
    [lost] = [r for r in results if isinstance(r, BaseException)]
    assert isinstance(lost, AlreadyAcknowledged) and getattr(lost, "code", "") == "conflict"
    assert f"acknowledged by {won.acknowledged_by}" in str(lost)
    assert won.acknowledged and won.acknowledged_by in (OLGA.label, PETE.label) and won.acknowledged_at is not None
    assert won == await audit_gateway.truth.alert(org, alert.alert_id) == await reader.alert(org, alert.alert_id)
    assert await reader.alerts(org) == []
    assert await reader.alerts(org, include_acknowledged=True) == [won]


async def test_a_commit_of_the_index_wakes_the_watchers_of_its_organisation(
        audit_gateway: AuditGateway, indexed: Indexed, database: Database, postgres_log: PostgresLog, chdb: Olap,
        olap_database: str) -> None:
    acme, beta = indexed.acme, indexed.beta
    await audit_gateway.connected()
    before = await audit_gateway.reader.recent(acme.org_id, 1000, None)
    woken, quiet = audit_gateway.commits.event(acme.org_id), audit_gateway.commits.event(beta.org_id)
    assert not woken.is_set()
    writer = fleet(acme.stack_id, 1, ["late"], seed=99)[0]
    late = writer.next(BASE_NS + 2 * 10**12)
    await publish(postgres_log, acme.org_id, acme.stack_id, [late], first_seq=20_000)
    await run_index(database, postgres_log, chdb, fast_config(olap_database), 1)
    async with asyncio.timeout(WAIT_S):
        await woken.wait()
    assert not quiet.is_set()  # beta's tail did not move
    after = await audit_gateway.reader.recent(acme.org_id, 1000, before.cursor)
    assert [r.record_id for r in after.records] == [late["record_id"]]

"""Shared pieces of the audit-index integration tests: a synthetic fleet, publishing DPRs on
the real log with origin headers, running the real service until it has consumed them,
and a snapshot of everything a user can see through the query API."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import random
from collections.abc import Sequence
from typing import Any

import orjson

from faramesh_cloud.audit_index.domain import ChainFinding, severity_of
from faramesh_cloud.audit_index.postgres import save_findings
from faramesh_cloud.audit_index.query import AuditQueries
from faramesh_cloud.audit_index.service import AuditIndex, AuditIndexConfig
from faramesh_cloud.audit_index.views import SearchFilters, TimeRange
from faramesh_cloud.consumer.runner import RunnerConfig
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DEFAULT_PARTITIONS,
    DPR_RECORDS,
    SIGNING_KEYS,
    Origin,
    stack_key,
)
from faramesh_cloud.log.port import Log, LogRecord
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.outbox.relay import OutboxRelay
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database

BASE_NS = 1_780_000_000_000_000_000  # 2026-05-28
SEED = hashlib.sha256(b"audit-index-tests/ed25519").digest()
HMAC_KEY = b"audit-index-tests/hmac"


def fleet(stack: str, agents: int, sessions: Sequence[str], seed: int) -> list[AgentWriter]:
    rng = random.Random(seed)
    return [AgentWriter(f"{stack}-agent-{i}", random.Random(rng.getrandbits(32)), ed25519_seed=SEED,
                        hmac_key=HMAC_KEY, signed_share=0.5, sessions=list(sessions))
            for i in range(agents)]


def records(writers: Sequence[AgentWriter], count: int, start_ns: int = BASE_NS) -> list[dict[str, Any]]:
    """``count`` records round-robin over the writers; every third pair shares a timestamp
    (keyset pagination must break ties)."""
    out = []
    for i in range(count):
        created = start_ns + (i - i % 3 // 2) * 1_000_003
        out.append(writers[i % len(writers)].next(created))
    return out


async def relay_pins(db: Database, log: Log) -> int:
    """Append what the stacks outbox holds (pins, revocations) to ``stacks.signing_keys.v1``,
    as the gateway's relay does; how many events went."""
    await log.create_topic(SIGNING_KEYS, DEFAULT_PARTITIONS[SIGNING_KEYS])
    return await OutboxRelay(db, log, "stacks_outbox").relay_once()


async def ensure_topics(log: Log) -> None:
    for topic in (DPR_RECORDS, DEAD_LETTERS):
        await log.create_topic(topic, DEFAULT_PARTITIONS[topic])


async def publish(log: Log, org: str, stack: str, values: Sequence[bytes | dict[str, Any]],
                  first_seq: int = 0, received_ns: int | None = None) -> None:
    """Append DPRs as ingest does; Cloud received record i at ``received_ns + i`` (default: a
    fixed time in 2026, so a rebuild gives the same rows)."""
    await ensure_topics(log)
    base = BASE_NS + 10_000_000_000 + first_seq if received_ns is None else received_ns
    batch = []
    for i, value in enumerate(values):
        raw = value if isinstance(value, bytes) else to_go_json(value)
        seq = first_seq + i
        origin = Origin(org, stack, "sync", seq, "buf-0", base + i)
        batch.append(LogRecord(stack_key(org, stack), raw, origin.headers()))
    await log.append(DPR_RECORDS, batch)


def fast_config(database: str, group: str = "audit-index", batch: int = 10_000) -> AuditIndexConfig:
    return AuditIndexConfig(
        database=database, group=group,
        runner=RunnerConfig(max_batch_records=batch, max_batch_seconds=0.05, poll_records=batch,
                            poll_timeout_s=0.05, dead_letter_topic=DEAD_LETTERS),
        verifier_runner=RunnerConfig(max_batch_records=batch, max_batch_seconds=0.05, poll_records=batch,
                                     poll_timeout_s=0.05),
    )


async def run_index(db: Database, log: Log, olap: Olap, config: AuditIndexConfig, messages: int,
                    timeout_s: float = 60.0) -> AuditIndex:
    """Start the real service, wait until it has handled ``messages`` messages, stop it."""
    index = AuditIndex(db, log, olap, config)
    await index.start()
    try:
        async with asyncio.timeout(timeout_s):
            while index.handled() < messages:
                failure = index.failure()
                if failure is not None:
                    raise failure
                await asyncio.sleep(0.02)
    finally:
        await index.stop()
    return index


async def all_pages(queries: AuditQueries, org: str, filters: SearchFilters | None = None,
                    time_range: TimeRange | None = None, limit: int = 7) -> list[Any]:
    rows: list[Any] = []
    cursor = None
    while True:
        page = await queries.search(org, filters, time_range, cursor, limit)
        rows.extend(page.records)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def _plain(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


async def snapshot(queries: AuditQueries, org: str, session: str, agent: str) -> dict[str, Any]:
    """Everything the explorer shows for ``org`` (positions in the log and the tail order
    are left out: a rebuild may assign them in another order)."""
    def rows(items: Sequence[Any]) -> list[tuple[Any, ...]]:
        return [(r.stack_id, r.agent_id, r.record_id, r.created_at, r.effect, r.hash_valid,
                 r.signature_status, r.link_status, r.created_ns) for r in items]

    everything = await all_pages(queries, org)
    timeline = (await queries.session_timeline(org, session, limit=1000)).records
    window = TimeRange(BASE_NS, BASE_NS + 200 * 1_000_003)
    by_agent = await all_pages(queries, org, SearchFilters(agent_id=agent), window)
    details = [await queries.get_record(org, r.record_id) for r in everything[:5]]
    integrity = await queries.chain_integrity(org)
    alerts = await queries.alerts(org)
    tail = (await queries.recent(org, limit=1000)).records
    return {
        "search": rows(everything),
        "counts": await queries.counts_by_effect(org),
        "counts_denied_in_window": await queries.counts_by_effect(org, SearchFilters(effect="DENY"), window),
        "timeline": rows(timeline),
        "agent_window": rows(by_agent),
        "details": [[(rows([d.summary]), d.raw, d.chain_index, [_plain(f) for f in d.findings])
                     for d in copies] for copies in details],
        "integrity": [_plain(s) for s in integrity],
        "alerts": sorted((a.stack_id, a.agent_id, a.record_id, a.kind, a.created_at) for a in alerts),
        "tail": sorted(rows(tail)),
    }


def mutations(olap: Olap, table: str) -> int:
    """How many ``ALTER TABLE … UPDATE/DELETE`` mutations ``table`` (``db.name``) has had."""
    database, name = table.split(".", 1)
    return int(olap.query("SELECT count() FROM system.mutations WHERE database = {db:String} AND table = {t:String}",
                          {"db": database, "t": name}).scalar() or 0)


async def as_the_old_verifier_left_it(database: Database, olap: Olap, table: str, org: str, stack: str,
                                      raws: list[bytes]) -> list[ChainFinding]:
    """What the verifier before revision 2 stored for the legacy records that carry
    degraded_mode with a defer, approval or cascade field: findings (and their alerts), the
    ClickHouse rows flagged to match, the stored revision 1."""
    findings = []
    for index, raw in enumerate(raws):
        record = orjson.loads(raw)
        misjudged = record.get("degraded_mode") and any(
            record.get(k) for k in ("approval_envelope", "defer_token", "parent_defer_token", "cascade_path"))
        if not misjudged:
            continue
        kinds = ["record_hash_mismatch"] + (["bad_signature"] if record.get("signature") else [])
        for kind in kinds:
            findings.append(ChainFinding(org, stack, record["agent_id"], record["record_id"], record["record_hash"],
                                         kind, severity_of(kind), "as the verifier before revision 2 said", index,
                                         f"dpr.records.v1[0]@{index}", record["created_at"], 1_780_000_000 + index))
        olap.command(f"ALTER TABLE {table} UPDATE hash_valid = false, signature_status = "
                     f"'{'invalid' if record.get('signature') else 'unsigned'}' WHERE record_id = {{rid:String}} "
                     "SETTINGS mutations_sync = 2", {"rid": record["record_id"]})
    async with database.transaction() as conn:
        await save_findings(conn, findings)
        await conn.execute("UPDATE audit_verifier_revision SET revision = 1")
    return findings

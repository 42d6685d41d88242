"""Shared pieces of the retention tests: three agents writing weekly from January 2026, the
index started with a checkpoint key and no schedule (tests run the job themselves), legacy
summaries at given times, and "now" for the job (20 April 2026)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from faramesh_cloud.audit_index.retention.plan import to_ns
from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from tests.integration.audit_support import SEED, fast_config

START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = datetime(2026, 4, 20, 12, tzinfo=UTC)  # 30 days: January and February are due, March is not
HORIZON = datetime(2026, 3, 1, tzinfo=UTC)
OWNER = Actor.system("test owner")


def chains(stack: str, per_agent: int = 16) -> list[dict[str, Any]]:
    """Three agents writing every week from 5 January 2026 (into March or April), interleaved."""
    writers = [AgentWriter(f"{stack}-agent-{i}", random.Random(i), ed25519_seed=SEED, hmac_key=b"k",
                           signed_share=0.5, sessions=["s"]) for i in range(3)]
    out = []
    for step in range(per_agent):
        for i, writer in enumerate(writers):
            created = START + timedelta(days=7 * step, hours=i)
            out.append(writer.next(to_ns(created)))
    return out


async def publish_summaries(log: PostgresLog, org: str, stack: str, when: list[datetime]) -> list[str]:
    """Unverified decision summaries (the legacy Horizon feed) created at ``when``; their ids."""
    await log.create_topic(LEGACY_DECISIONS, DEFAULT_PARTITIONS[LEGACY_DECISIONS])
    batch, ids = [], []
    for i, moment in enumerate(when):
        ids.append(f"summary-{i}")
        event = LegacyDecision(source=SOURCE_HORIZON, effect="PERMIT", timestamp=moment.isoformat(),
                               decided_at_ns=to_ns(moment), record_id=ids[-1], agent_id="legacy-bot", latency_ms=1)
        batch.append(LogRecord(stack_key(org, stack), event.to_json(),
                               Origin(org, stack, SOURCE_HORIZON, i, "req", to_ns(moment) + 1).headers()))
    await log.append(LEGACY_DECISIONS, batch)
    return ids


async def index_until(index: AuditIndex, messages: int, summaries: int = 0) -> None:
    async with asyncio.timeout(60):
        while (index.handled() < messages
               or (index.legacy_runner is not None and index.legacy_runner.stats.messages < summaries)):
            failure = index.failure()
            if failure is not None:
                raise failure
            await asyncio.sleep(0.02)


async def started(database: Database, log: PostgresLog, olap: Olap, olap_database: str, key: Any,
                  group: str = "audit-index") -> AuditIndex:
    config = fast_config(olap_database, group=group)
    index = AuditIndex(database, log, olap, replace(config, retention_sweep_interval_s=0), checkpoint_key=key)
    await index.start()
    return index



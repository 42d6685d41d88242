"""The DPR explorer under test: the real gateway app with an audit reader over the real
index (PostgreSQL + chDB), records pushed through the real processor and sink."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.gateway.web.audit_common import AUDIT_SECTION
from faramesh_cloud.gateway.web.deps import WebConfig, WebDeps
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.port import Log
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.signing.keys import load_or_create_signing_key
from faramesh_cloud.simulator.records import AgentWriter
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.integration.audit_support import BASE_NS, fast_config, fleet, publish, records, run_index

XSS = "<script>alert('dpr')</script>"


def explorer_deps(identity: Identity, stacks: StackStore, db: Database, olap: Olap, olap_database: str,
                  data_dir: Path) -> WebDeps:
    return WebDeps(identity=identity, stacks=stacks, signing_key=load_or_create_signing_key(data_dir),
                   config=WebConfig(secret_key="test-secret-" + data_dir.name),
                   audit=IndexReader(olap, db, AuditTables(olap_database)), sections=(AUDIT_SECTION,))


@dataclass
class Indexed:
    """What was pushed for one org: the records by agent writer, the hostile one."""

    records: list[dict[str, Any]]
    writers: list[AgentWriter]
    xss: dict[str, Any]


async def index_fleet(db: Database, log: Log, olap: Olap, olap_database: str, org_id: str, stack_id: str,
                      count: int = 30, seed: int = 7, first_seq: int = 0, already: int = 0) -> Indexed:
    """``count`` records of three agents sharing session ``shared`` plus one whose args carry
    markup, published on the log and indexed by the real service."""
    writers = fleet(stack_id, 3, ["shared"], seed)
    pushed = records(writers, count)
    xss = writers[0].next(BASE_NS + 10**12, selector_snapshot={"query": XSS}, tool_id="web/search",
                          session_id="shared")
    pushed.append(xss)
    await publish(log, org_id, stack_id, pushed, first_seq=first_seq)
    await run_index(db, log, olap, fast_config(olap_database), already + len(pushed))
    return Indexed(pushed, writers, xss)


async def index_tampered(db: Database, log: Log, olap: Olap, olap_database: str, org_id: str, stack_id: str,
                         agent: str = "tampered-agent", first_seq: int = 10_000) -> dict[str, Any]:
    """Three records of a fresh agent whose middle one was edited after hashing
    (``record_hash_mismatch``: one critical alert), indexed by the real service; the edited one."""
    writer = AgentWriter(agent, random.Random(11), ed25519_seed=b"\x07" * 32, hmac_key=b"k",
                         signed_share=0.0, sessions=["tampered"])
    pushed = [writer.next(BASE_NS + 5 * 10**12 + i * 1_000_000) for i in range(3)]
    pushed[1] = {**pushed[1], "matched_rule_id": "rule-edited"}  # record_hash left as the daemon wrote it
    await publish(log, org_id, stack_id, pushed, first_seq=first_seq)
    await run_index(db, log, olap, fast_config(olap_database), len(pushed))
    return pushed[1]

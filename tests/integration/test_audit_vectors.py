"""Chain integrity on the real interop vectors, pushed through the real log into chDB, with
the chain state in PostgreSQL: every finding with its record, critical alerts, and every
record still searchable (findings flag records, never hide them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.views import SearchFilters
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.integration.audit_support import fast_config, publish, run_index

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

ORG = "org-vectors"
# stack -> (file, stored records, [(finding kind, record id suffix)], alert kinds)
CASES = {
    "valid-jcs": ("dpr_chain_valid_jcs.jsonl", 6, [], []),
    "valid-multi": ("dpr_chain_valid_multi_agent.jsonl", 5, [], []),
    "unhashed-edit": ("dpr_chain_unhashed_field_edit.jsonl", 6, [], []),
    "gap": ("dpr_chain_gap.jsonl", 5, [("gap", "1a04")], ["gap"]),
    "broken": ("dpr_chain_broken_prev_link.jsonl", 6, [("broken_link", "1a04"), ("gap", "1a05")],
               ["broken_link", "gap"]),
    "tampered": ("dpr_chain_tampered_field.jsonl", 6,
                 [("bad_signature", "1a03"), ("record_hash_mismatch", "1a03")],
                 ["bad_signature", "record_hash_mismatch"]),
    "duplicate": ("dpr_chain_duplicate_record.jsonl", 3, [("duplicate_record", "1a02")], []),
    "bad-signature": ("dpr_chain_bad_signature.jsonl", 2, [("bad_signature", "1a01")], ["bad_signature"]),
    "bad-genesis": ("dpr_chain_bad_genesis.jsonl", 2, [("gap", "1a02"), ("invalid_genesis", "1a01")],
                    ["gap", "invalid_genesis"]),
}


async def test_chain_findings_alerts_and_records_on_the_interop_vectors(
    database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, vectors_dir: Path,
) -> None:
    await migrate(database, [COMPONENT])
    total = 0
    for stack, (name, _, _, _) in CASES.items():
        lines = (vectors_dir / name).read_bytes().splitlines()
        await publish(postgres_log, ORG, stack, lines)
        total += len(lines)
    index = await run_index(database, postgres_log, chdb, fast_config(olap_database), total)
    queries = index.queries

    integrity = {s.stack_id: s for s in await queries.chain_integrity(ORG)}
    alerts = await queries.alerts(ORG)
    for stack, (name, stored, findings, alert_kinds) in CASES.items():
        found = sorted((f.kind, f.record_id[-4:]) for a in integrity[stack].agents for f in a.findings)
        assert found == sorted(findings), name
        assert sorted(a.kind for a in alerts if a.stack_id == stack) == sorted(alert_kinds), name
        assert integrity[stack].intact is (not alert_kinds), name
        page = await queries.search(ORG, SearchFilters(stack_id=stack))
        assert len(page.records) == stored, name

    tampered = (await queries.get_record(ORG, "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03", stack_id="tampered"))[0]
    assert (tampered.summary.hash_valid, tampered.summary.signature_status) == (False, "invalid")
    assert tampered.summary.effect == "PERMIT"  # what it claims now, shown and flagged
    assert {f.kind for f in tampered.findings} == {"record_hash_mismatch", "bad_signature"}
    gap = (await queries.get_record(ORG, "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a04", stack_id="gap"))[0]
    assert gap.summary.link_status == "gap" and gap.chain_index == 2
    genesis = (await queries.get_record(ORG, "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a01", stack_id="bad-genesis"))[0]
    assert genesis.summary.link_status == "invalid_genesis"
    duplicate = integrity["duplicate"].agents[0]
    assert (duplicate.chain_length, duplicate.segments) == (3, 1)
    assert duplicate.tip_record_id.endswith("1a03")
    multi = integrity["valid-multi"]
    assert sorted((a.agent_id, a.chain_length) for a in multi.agents) == [
        ("agent-a", 2), ("agent-b", 2), ("support-bot#mcp-3f9a2c71", 1)]
    assert all(a.last_verified_ns > 0 for s in integrity.values() for a in s.agents)
    assert all(a.created_at.tzinfo is not None and not a.acknowledged for a in alerts)

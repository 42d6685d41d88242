"""Legacy records with defer/approval fields through the real index (chDB + PostgreSQL + the
log): a rebuilt index raises nothing for them; and what the old verifier raised for them is
retracted on start, with a note, never deleted, while a real tampering stays flagged."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.audit_index.postgres import COMPONENT
from faramesh_cloud.audit_index.reverify import SYSTEM, reverify
from faramesh_cloud.audit_index.views import SearchFilters
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.platform_audit.events import AuditAction
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.migrate import migrate
from tests.fixtures.ingest import MakeTenant
from tests.integration.audit_support import (
    all_pages,
    as_the_old_verifier_left_it,
    fast_config,
    mutations,
    publish,
    run_index,
)

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy_hashed_fields"


def lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().splitlines() if line]


async def test_legacy_records_with_defer_and_approval_fields_raise_nothing(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str) -> None:
    await migrate(database, [COMPONENT])
    chain, combos = lines(LEGACY / "legacy_deferrer_chain.jsonl"), lines(LEGACY / "legacy_combinations.jsonl")
    await publish(postgres_log, "org-legacy", "deferrer", chain)
    await publish(postgres_log, "org-legacy", "combos", combos, first_seq=len(chain))
    index = await run_index(database, postgres_log, chdb, fast_config(olap_database), len(chain) + len(combos))
    integrity = await index.queries.chain_integrity("org-legacy")
    assert [f for s in integrity for a in s.agents for f in a.findings] == []
    assert await index.queries.alerts("org-legacy") == []
    rows = await all_pages(index.queries, "org-legacy", limit=200)
    assert len(rows) == len(chain) + len(combos)
    assert all(r.hash_valid and r.signature_status in ("valid", "unsigned") for r in rows)
    assert sum(r.signature_status == "valid" for r in rows) == 29


async def test_what_the_old_verifier_raised_is_retracted_with_a_note_and_kept(
        database: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, tenant: MakeTenant,
        vectors_dir: Path) -> None:
    audit = PlatformAuditLog(database)
    await audit.start()
    await migrate(database, [COMPONENT])
    acme = await tenant()
    org, stack = acme.org.org_id, acme.stack.stack_id
    legacy = lines(LEGACY / "legacy_deferrer_chain.jsonl")
    tampered = lines(vectors_dir / "dpr_chain_tampered_field.jsonl")
    await publish(postgres_log, org, stack, legacy)
    await publish(postgres_log, org, "other-stack", tampered, first_seq=len(legacy))
    config = fast_config(olap_database)
    index = await run_index(database, postgres_log, chdb, config, len(legacy) + len(tampered))
    real = {(a.kind, a.record_id) for a in await index.queries.alerts(org)}
    assert real == {("record_hash_mismatch", "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03"),
                    ("bad_signature", "0b7e2c4a-3f1d-4e59-9a61-2d8f0c6b1a03")}

    # What the verifier before revision 2 stored for the legacy records that carry
    # degraded_mode with a defer, approval or cascade field: a hash mismatch on each, a bad
    # signature on each signed one, and their critical alerts; the rows flagged to match.
    old = await as_the_old_verifier_left_it(database, chdb, index.tables.dpr, org, stack, legacy)
    assert len(old) == 6  # records 2-5 mismatch, 3 and 5 also "bad signature"

    rewrites = mutations(chdb, index.tables.dpr)
    restarted = await run_index(database, postgres_log, chdb, config, 0)  # the real start-up path
    assert mutations(chdb, index.tables.dpr) == rewrites  # corrected by retracting findings, no row rewritten
    alerts = await restarted.queries.alerts(org, include_acknowledged=True)
    closed = [a for a in alerts if a.stack_id == stack]
    assert len(closed) == 6 and all(a.acknowledged for a in closed)
    assert {a.acknowledged_by for a in closed} == {SYSTEM.label}
    assert all("1.4.2" in a.acknowledged_note and "not from a change to the record" in a.acknowledged_note
               for a in closed)
    assert {(a.kind, a.record_id) for a in alerts if not a.acknowledged} == real  # real tampering stays
    async with database.connection() as conn:
        kept = await (await conn.execute(
            "SELECT count(*), count(retracted_at) FROM audit_chain_findings WHERE org_id = %s AND stack_id = %s",
            (org, stack))).fetchone()
    assert kept == (6, 6)  # retracted, not deleted
    integrity = {s.stack_id: s for s in await restarted.queries.chain_integrity(org)}
    assert integrity[stack].findings_by_kind == {} and integrity[stack].intact
    assert not integrity["other-stack"].intact
    rows = await all_pages(restarted.queries, org, SearchFilters(stack_id=stack))
    assert all(r.hash_valid and r.signature_status in ("valid", "unsigned") for r in rows)
    entries = await audit.entries(org, AuditFilter(action=AuditAction.FINDING_RETRACTED))
    assert len(entries) == 1 and entries[0].details["retracted"] == 6
    assert entries[0].actor.label == SYSTEM.label
    assert (await audit.verify(org)).ok
    # Once per upgrade: nothing left to do.
    assert await reverify(database, chdb, restarted.tables, audit, None, alerts[0].created_at) is None

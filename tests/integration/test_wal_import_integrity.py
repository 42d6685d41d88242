"""A corrupt frame in the middle of a daemon's WAL, met by ``import-wal``, is in the stack's
chain integrity as a user reads it (REST and page) and raises a critical alert: the import
appends the problem to ``dpr.wal_problems.v1``, and the real audit index (PostgreSQL + chDB)
consumes it next to the records."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.dpr.wal import WalReader
from faramesh_cloud.events.topics import DEAD_LETTERS, DEFAULT_PARTITIONS, DPR_RECORDS, WAL_PROBLEMS
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.ingest.feeds.import_ledger import ImportLedger
from faramesh_cloud.ingest.wal_import import WalImporter
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import explorer_deps
from tests.integration.audit_support import fast_config

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]


@pytest.fixture
def explorer_app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap,
                 olap_database: str, tmp_path: Path) -> FastAPI:
    return create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))


async def index_until(index: AuditIndex, records: int, problems: int) -> None:
    await index.start()
    try:
        async with asyncio.timeout(60):
            while (index.handled() < records
                   or index.wal_problems is None or index.wal_problems.stats.messages < problems):
                failure = index.failure()
                if failure is not None:
                    raise failure
                await asyncio.sleep(0.02)
    finally:
        await index.stop()


async def test_a_mid_file_crc_error_shows_in_the_stacks_chain_integrity_and_alerts(
    explorer_app: FastAPI, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,
    chdb: Olap, olap_database: str, vectors_dir: Path, tmp_path: Path,
) -> None:
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments")
    for topic in (DPR_RECORDS, DEAD_LETTERS, WAL_PROBLEMS):
        await postgres_log.create_topic(topic, DEFAULT_PARTITIONS[topic])
    data = (vectors_dir / "dpr_chain_valid_jcs.wal").read_bytes()
    table = list(WalReader(data))
    bad = table[4].offset + 13 + 5  # a payload byte of frame 4: CRC mismatch, intact frames after
    wal = tmp_path / "faramesh.wal"
    wal.write_bytes(data[:bad] + bytes([data[bad] ^ 0x01]) + data[bad + 1:])
    ledger = ImportLedger(database)
    await ledger.start()
    report = await WalImporter(postgres_log, ledger).run(wal, acme.org.org_id, stack.stack_id)
    assert report.corrupt and report.records == 3

    await index_until(AuditIndex(database, postgres_log, chdb, fast_config(olap_database)), 3, 1)

    before = json.loads(table[2].payload)  # the last good DPR (frame 3 is a control frame)
    auditor = await people.member(acme, Role.AUDITOR)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=explorer_app), base_url="http://testserver") as web:
        await sign_in(web, auditor.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"
        r = await web.get(f"{base}/integrity/{stack.stack_id}")
        assert r.status_code == 200, r.text
        (integrity,) = r.json()
        assert integrity["intact"] is False and integrity["findings_by_kind"] == {"wal_corrupt": 1}
        [finding] = [f for a in integrity["agents"] for f in a["findings"]]
        assert (finding["kind"], finding["severity"], finding["record_id"], finding["record_hash"]) == (
            "wal_corrupt", "critical", before["record_id"], before["record_hash"])
        assert f"corrupt at byte offset {table[4].offset}" in finding["message"]
        assert "CRC-32 mismatch" in finding["message"]

        alerts = (await web.get(f"{base}/alerts")).json()
        assert [(a["kind"], a["record_id"], a["stack_id"]) for a in alerts] == [
            ("wal_corrupt", before["record_id"], stack.stack_id)]

        page = await web.get(f"/o/{acme.org.slug}/audit/integrity/{stack.stack_id}")
        assert page.status_code == 200
        assert "wal_corrupt" in page.text and f"corrupt at byte offset {table[4].offset}" in page.text
        assert "1 critical finding" in page.text

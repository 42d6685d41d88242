"""The signed exports land in the evidence library: a DPR search export (Audit search, real
index on PostgreSQL + chDB) and a platform audit log export, each exported over the REST API,
are listed in the library with the SHA-256 and size of the very bytes downloaded, their query
as parameters, and download from the library byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.gateway.web.compliance_ports import CompliancePort, mount_compliance
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import explorer_deps, index_fleet

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def test_a_platform_audit_log_export_is_in_the_library_with_the_downloaded_bytes_hash(
        client_factory: MakeClient, people: People) -> None:
    owner = await people.org("acme")
    auditor = await people.member(owner, Role.AUDITOR)
    client = client_factory()
    await sign_in(client, auditor.email, PASSWORD)
    exported = await client.get("/api/v1/orgs/acme/audit-log/export", params={"action": "org:"})
    assert exported.status_code == 200
    library = (await client.get("/api/v1/orgs/acme/compliance/library")).json()
    assert [(a["kind"], a["parameters"]) for a in library] == [("platform-audit-export", {"action": "org:"})]
    assert library[0]["sha256"] == hashlib.sha256(exported.content).hexdigest()
    assert library[0]["size"] == len(exported.content) and library[0]["created_by"] == auditor.email
    again = await client.get(f"/api/v1/orgs/acme/compliance/artifacts/{library[0]['artifact_id']}/download")
    assert again.content == exported.content


@pytest.fixture
def explorer_app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap, olap_database: str,
                 tmp_path: Path, compliance_port: CompliancePort) -> FastAPI:
    app = create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))
    mount_compliance(app, compliance_port)
    return app


@pytest.mark.chdb
async def test_a_dpr_search_export_is_in_the_library_with_its_query(
        explorer_app: FastAPI, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,
        chdb: Olap, olap_database: str) -> None:
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments")
    pushed = await index_fleet(database, postgres_log, chdb, olap_database, acme.org.org_id, stack.stack_id)
    agent = pushed.writers[1].agent_id
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=explorer_app), base_url="http://testserver") as web:
        await sign_in(web, acme.email, PASSWORD)
        exported = await web.get("/api/v1/orgs/acme/audit/export", params={"agent": agent})
        assert exported.status_code == 200
        records = len(exported.json()["entries"])
        library = (await web.get("/api/v1/orgs/acme/compliance/library")).json()
    assert [a["kind"] for a in library] == ["dpr-export"]
    assert library[0]["sha256"] == hashlib.sha256(exported.content).hexdigest()
    assert library[0]["parameters"] == {"agent": agent, "records": records}
    assert library[0]["filename"].startswith("dpr-export-acme-")

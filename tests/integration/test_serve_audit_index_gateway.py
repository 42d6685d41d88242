"""Where the gateway's view of the audit index comes from.

* ``up`` (one process): the gateway is given the running index's own reader and the signals of
  its commit watch; a gateway without the index in its process gets the gRPC clients, dialling
  the index's advertised address.
* Distributed mode: `faramesh-cloud serve audit-index`, `serve approvals` and `serve gateway`
  as three processes on one PostgreSQL, each with its own data dir, internal port range and
  certificate from one operator CA. The index binds on ``internal_bind_host`` while its
  advertised host does not even resolve; the gateway dials it at
  ``FARAMESH_CLOUD_AUDIT_INDEX_ADDRESS``. A DPR a daemon pushed is indexed by the index's
  process and found by search through the gateway's REST API and explorer page; an approval's
  page lists the session's last actions from the index; an owner sets retention and runs a
  dry run through the gateway's REST (a year below the declared HIPAA minimum refused with its
  citation, as in process); the gateway's process never opens the OLAP store (no chDB in its
  data dir). With the index stopped, search and retention are a 503 with a message and the
  approval's page still answers."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from faramesh_cloud.audit_index.client import AuditIndexClient, CommitWatchClient
from faramesh_cloud.audit_index.retention_client import RetentionClient
from faramesh_cloud.compliance import events as compliance_events
from faramesh_cloud.compliance.changes import FrameworksDeclared
from faramesh_cloud.config import Settings
from faramesh_cloud.events.topics import COMPLIANCE_EVENTS, DEFAULT_PARTITIONS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.rpc.internal_pki import embedded
from faramesh_cloud.runtime import audit_wiring
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.approvals_support import pending_event, push_events
from tests.fixtures.secrets import SharedSecrets
from tests.integration.audit_support import fleet, publish
from tests.integration.test_serve_approvals_gateway import _wait_for_approvals
from tests.integration.test_serve_fleet_gateway import _serve, _sign_up, _stop, _tls_env
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.serve_support import wait_until_it_answers

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc, pytest.mark.chdb]


async def test_up_gives_the_gateway_the_running_audit_indexs_own_reader(
        database: Database, postgres_log: PostgresLog, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, http_port=free_port(), internal_base_port=free_internal_base())
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ctx = RuntimeContext(platform, "now", [])
    index = audit_wiring.service(ctx)
    ctx.services.append(index)  # as the runner does, in start order: the index before the gateway
    gateway = GatewayService(ctx)
    assert gateway.audit.reader is index.reader and gateway.audit.commits is index.commits.signals
    assert gateway.retention is index.index.retention  # Settings → Retention: the index's own API
    await gateway.stop()  # releases nothing of the index's

    alone = GatewayService(RuntimeContext(platform, "now", []))  # serve gateway
    assert isinstance(alone.audit.reader, AuditIndexClient) and isinstance(alone.audit.commits, CommitWatchClient)
    assert alone.audit.reader.address == alone.audit.commits.address == settings.internal_dial_address("audit-index")
    assert isinstance(alone.retention, RetentionClient)
    await alone.stop()


async def _wait_for_index(address: str, pki: Path, proc: subprocess.Popen[bytes]) -> None:
    client = AuditIndexClient(address, embedded(pki, "gateway"), timeout_s=2.0)
    await wait_until_it_answers("audit-index", client, lambda: client.alerts(str(uuid.uuid4())), proc, 120)


async def test_serve_gateway_searches_through_serve_audit_index_over_grpc(
        tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets, database: Database, postgres_log: PostgresLog) -> None:
    pki = tmp_path / "pki"
    index_base, approvals_base, gateway_base, http = (free_internal_base(), free_internal_base(),
                                                      free_internal_base(), free_port())
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    index = _serve("audit-index", tmp_path / "audit-index", {
        **common, **_tls_env(pki, "audit-index"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(index_base),
        "FARAMESH_CLOUD_INTERNAL_BIND_HOST": "127.0.0.1",
        "FARAMESH_CLOUD_INTERNAL_HOST": "audit.does-not-resolve.invalid"})  # advertised, never bound
    approvals = _serve("approvals", tmp_path / "approvals", {
        **common, **_tls_env(pki, "approvals"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(approvals_base)})
    gateway = None
    outputs = []
    try:
        index_address = f"127.0.0.1:{index_base + 2}"  # internal_base_port + the audit index's index (2)
        approvals_address = f"127.0.0.1:{approvals_base}"
        await _wait_for_index(index_address, pki, index)
        await _wait_for_approvals(approvals_address, pki, approvals)
        gateway = _serve("gateway", tmp_path / "gateway", {
            **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(gateway_base),
            "FARAMESH_CLOUD_AUDIT_INDEX_ADDRESS": index_address,
            "FARAMESH_CLOUD_APPROVALS_ADDRESS": approvals_address, "FARAMESH_CLOUD_HTTP_PORT": str(http)})
        client, org = await asyncio.to_thread(_sign_up, f"http://127.0.0.1:{http}", gateway)
        try:
            headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
            created = client.post(f"/api/v1/orgs/{org}/stacks", json={"name": "payments-prod"}, headers=headers)
            assert created.status_code == 201, created.text
            stack_id = created.json()["stack_id"]
            async with database.connection() as conn:
                row = await (await conn.execute("SELECT org_id FROM orgs WHERE slug = %s", (org,))).fetchone()
            assert row is not None
            org_id = str(row[0])
            writer = fleet(stack_id, 1, ["e2e-session"], seed=21)[0]
            dpr = writer.next(time.time_ns(), session_id="e2e-session")
            await publish(postgres_log, org_id, stack_id, [dpr])  # a daemon's DPR, as ingest appends it
            await push_events(postgres_log, org_id, stack_id,
                              [pending_event("e2e00001", writer.agent_id, session="e2e-session")])

            deadline = time.monotonic() + 90
            while not (found := client.get(f"/api/v1/orgs/{org}/audit/records",
                                           params={"agent": writer.agent_id}).json()["records"]):
                assert time.monotonic() < deadline, "the DPR was never found through the gateway"
                await asyncio.sleep(0.3)
            assert [r["record_id"] for r in found] == [dpr["record_id"]]
            page = client.get(f"/o/{org}/audit", params={"agent": writer.agent_id})
            assert page.status_code == 200 and dpr["record_id"] in page.text
            detail = client.get(f"/api/v1/orgs/{org}/audit/records/{dpr['record_id']}")
            assert detail.status_code == 200, detail.text

            deadline = time.monotonic() + 60
            while not (listed := client.get(f"/api/v1/orgs/{org}/approvals").json()):
                assert time.monotonic() < deadline, "the approval never reached the queue"
                await asyncio.sleep(0.3)
            [approval] = listed
            shown = client.get(f"/o/{org}/approvals/{approval['approval_id']}")
            assert shown.status_code == 200, shown.text[:1000]
            assert dpr["matched_rule_id"] in shown.text  # the session's last actions, read from the index
            assert not (tmp_path / "gateway" / "chdb").exists()  # the gateway never opened the OLAP store

            # Settings → Retention through the gateway, answered by the index's process: HIPAA
            # declared (compliance's event, read by the index) refuses a year with its citation.
            await postgres_log.create_topic(COMPLIANCE_EVENTS, DEFAULT_PARTITIONS[COMPLIANCE_EVENTS])
            await postgres_log.append(COMPLIANCE_EVENTS, [compliance_events.encode(FrameworksDeclared(
                event_id=str(uuid.uuid4()), occurred_at=datetime.now(UTC), org_id=org_id,
                actor=Actor.system("compliance"), frameworks=("hipaa",)))])
            deadline = time.monotonic() + 60
            while (status := client.get(f"/api/v1/orgs/{org}/retention")).status_code != 200 or (
                    status.json()["frameworks"] != ["hipaa"]):
                assert status.status_code == 200, status.text  # before RetentionClient: a 404
                assert time.monotonic() < deadline, "the index never learnt the declared frameworks"
                await asyncio.sleep(0.3)
            refused = client.put(f"/api/v1/orgs/{org}/retention", json={"days": 365}, headers=headers)
            assert refused.status_code == 422, refused.text
            assert refused.json()["detail"].startswith("365 days is below the HIPAA Security Rule minimum of 2192")
            assert "45 CFR §164.316(b)(2)(i)" in refused.json()["detail"]
            assert client.get(f"/api/v1/orgs/{org}/retention").json()["days"] is None  # nothing written
            dry = client.get(f"/api/v1/orgs/{org}/retention/dry-run", params={"days": 30})
            assert dry.status_code == 422 and "45 CFR §164.316(b)(2)(i)" in dry.json()["detail"]
            saved = client.put(f"/api/v1/orgs/{org}/retention", json={"days": 2200}, headers=headers)
            assert saved.status_code == 200, saved.text
            assert saved.json()["days"] == 2200 and saved.json()["minimum"]["framework"] == "hipaa"
            dry = client.get(f"/api/v1/orgs/{org}/retention/dry-run", params={"days": 2300})
            assert dry.status_code == 200, dry.text
            assert dry.json()["removes"] == [] and dry.json()["keeps"][0]["records"] == 1  # the DPR above
            assert "2200 days" in client.get(f"/o/{org}/settings/retention").text

            outputs.append(await asyncio.to_thread(_stop, index))
            down = client.get(f"/api/v1/orgs/{org}/audit/records")
            assert down.status_code == 503, down.text
            assert "audit-index service is not answering" in down.json()["detail"]
            gone = client.get(f"/api/v1/orgs/{org}/retention")
            assert gone.status_code == 503 and "audit-index service is not answering" in gone.json()["detail"]
            assert client.put(f"/api/v1/orgs/{org}/retention", json={"days": 2400},
                              headers=headers).status_code == 503
            assert client.get(f"/o/{org}/approvals/{approval['approval_id']}").status_code == 200
        finally:
            client.close()
    finally:
        outputs.append(await asyncio.to_thread(_stop, index))
        outputs.append(await asyncio.to_thread(_stop, approvals))
        if gateway is not None:
            outputs.append(await asyncio.to_thread(_stop, gateway))
    assert index.returncode == 0, "\n".join(outputs)[-4000:]
    assert approvals.returncode == 0, "\n".join(outputs)[-4000:]
    assert gateway is not None and gateway.returncode == 0, "\n".join(outputs)[-4000:]

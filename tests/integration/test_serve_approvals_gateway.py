"""Where the gateway's approvals come from.

* ``up`` (one process): the gateway is given the running approvals service's own API object,
  the one whose outbox relay, consumers and expiry sweep run, not a second instance of the
  service's command handlers; a gateway without the approvals service in its process gets the
  gRPC client, dialling the approvals service's advertised address.
* Distributed mode, two processes: `faramesh-cloud serve approvals` and `faramesh-cloud serve
  gateway` on one PostgreSQL, each with its own data dir, internal port range and certificate
  from one operator CA. The approvals service binds on ``internal_bind_host`` while its
  advertised host does not even resolve; the gateway dials it at
  ``FARAMESH_CLOUD_APPROVALS_ADDRESS``. A daemon's approval request reaches the queue a person
  reads through the gateway, the person decides it there, a second decision is a 409 naming
  who decided, and the decision is on the log; with the approvals process stopped the same
  request is a 503 (with a message) and pages that do not need approvals still answer."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from faramesh_cloud.approvals.client import ApprovalsApiClient
from faramesh_cloud.config import Settings
from faramesh_cloud.events.topics import APPROVAL_EVENTS, H_KIND
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.rpc.internal_pki import embedded
from faramesh_cloud.runtime import approvals_wiring
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.approvals_support import pending_event, push_events
from tests.fixtures.ingest import read_topic
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_serve_fleet_gateway import _serve, _sign_up, _stop, _tls_env
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.serve_support import wait_until_it_answers

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]


async def test_up_gives_the_gateway_the_running_approvals_services_own_api(
        database: Database, postgres_log: PostgresLog, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, http_port=free_port(), internal_base_port=free_internal_base())
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ctx = RuntimeContext(platform, "now", [])
    approvals = approvals_wiring.service(ctx, settings)
    ctx.services.append(approvals)  # as the runner does, in start order: approvals before the gateway
    gateway = GatewayService(ctx)
    assert gateway.approvals is approvals.approvals.api
    await gateway.stop()  # releases nothing of the approvals service's

    alone = GatewayService(RuntimeContext(platform, "now", []))  # serve gateway
    assert isinstance(alone.approvals, ApprovalsApiClient)
    assert alone.approvals.address == settings.internal_dial_address("approvals")
    await alone.stop()


async def _wait_for_approvals(address: str, pki: Path, proc: subprocess.Popen[bytes]) -> None:
    client = ApprovalsApiClient(address, embedded(pki, "gateway"), timeout_s=2.0)
    await wait_until_it_answers("approvals", client, lambda: client.pending(str(uuid.uuid4())), proc)


async def test_serve_gateway_decides_through_serve_approvals_over_grpc(
        tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets, database: Database, postgres_log: PostgresLog) -> None:
    pki = tmp_path / "pki"
    approvals_base, gateway_base, http = free_internal_base(), free_internal_base(), free_port()
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    approvals = _serve("approvals", tmp_path / "approvals", {
        **common, **_tls_env(pki, "approvals"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(approvals_base),
        "FARAMESH_CLOUD_INTERNAL_BIND_HOST": "127.0.0.1",
        "FARAMESH_CLOUD_INTERNAL_HOST": "approvals.does-not-resolve.invalid"})  # advertised, never bound
    gateway = None
    outputs = []
    try:
        address = f"127.0.0.1:{approvals_base}"  # internal_base_port + the approvals index (0)
        await _wait_for_approvals(address, pki, approvals)
        gateway = _serve("gateway", tmp_path / "gateway", {
            **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(gateway_base),
            "FARAMESH_CLOUD_APPROVALS_ADDRESS": address, "FARAMESH_CLOUD_HTTP_PORT": str(http)})
        client, org = await asyncio.to_thread(_sign_up, f"http://127.0.0.1:{http}", gateway)
        try:
            headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
            created = client.post(f"/api/v1/orgs/{org}/stacks", json={"name": "payments-prod"}, headers=headers)
            assert created.status_code == 201, created.text
            stack_id = created.json()["stack_id"]
            async with database.connection() as conn:
                row = await (await conn.execute("SELECT org_id FROM orgs WHERE slug = %s", (org,))).fetchone()
            assert row is not None
            await push_events(postgres_log, str(row[0]), stack_id, [pending_event("5e7e0001")])  # a daemon asks

            deadline = time.monotonic() + 60
            while not (listed := client.get(f"/api/v1/orgs/{org}/approvals").json()):
                assert time.monotonic() < deadline, "the approval never reached the queue"
                await asyncio.sleep(0.3)
            [item] = listed
            assert item["defer_token"] == "5e7e0001" and item["state"] == "pending"
            queue = client.get(f"/o/{org}/approvals")
            assert queue.status_code == 200 and item["approval_id"] in queue.text
            decided = client.post(f"/api/v1/orgs/{org}/approvals/{item['approval_id']}/decision",
                                  json={"verdict": "approve", "reason": "checked"}, headers=headers)
            assert decided.status_code == 200, decided.text
            again = client.post(f"/api/v1/orgs/{org}/approvals/{item['approval_id']}/decision",
                                json={"verdict": "deny", "reason": "no"}, headers=headers)
            assert again.status_code == 409, again.text
            assert "already approved by operator@example.test" in again.json()["detail"]
            assert [s["name"] for s in client.get("/api/v1/status").json()["services"]] == ["gateway"]

            # The approvals process relays the decision onto its topic.
            deadline = time.monotonic() + 60
            while not (events := await read_topic(postgres_log, APPROVAL_EVENTS)):
                assert time.monotonic() < deadline, "the decision never reached approvals.events.v1"
                await asyncio.sleep(0.3)
            assert [m.headers[H_KIND] for m in events] == [b"ApprovalDecided"]

            outputs.append(await asyncio.to_thread(_stop, approvals))
            down = client.get(f"/api/v1/orgs/{org}/approvals")
            assert down.status_code == 503, down.text
            assert "approvals service is not answering" in down.json()["detail"]
            assert client.get(f"/o/{org}/settings/stacks").status_code == 200  # the registry is not approvals'
        finally:
            client.close()
    finally:
        outputs.append(await asyncio.to_thread(_stop, approvals))
        if gateway is not None:
            outputs.append(await asyncio.to_thread(_stop, gateway))
    assert approvals.returncode == 0, "\n".join(outputs)[-4000:]
    assert gateway is not None and gateway.returncode == 0, "\n".join(outputs)[-4000:]

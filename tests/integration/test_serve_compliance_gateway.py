"""Distributed mode, two processes: `faramesh-cloud serve compliance` and `faramesh-cloud serve
gateway` on one PostgreSQL, each with its own data dir and certificate from one operator CA.
The gateway reaches compliance only over its internal gRPC API
(``FARAMESH_CLOUD_COMPLIANCE_ADDRESS``): frameworks declared over REST are the compliance
process's; the platform audit log export the gateway signs is filed in the library by an
upload to it and downloads back byte for byte (streamed over gRPC), and a share link opens
without a session. A report asked for while the services it reads are not running fails saying which.
With compliance stopped, the pages answer 503 naming it."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.compliance.client import ComplianceClient
from faramesh_cloud.rpc.internal_pki import embedded
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_serve_fleet_gateway import _serve, _sign_up, _stop, _tls_env
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.serve_support import wait_until_it_answers
from tests.simulator_support import eventually

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]


async def _wait_for_compliance(address: str, pki: Path, proc: subprocess.Popen[bytes]) -> None:
    client = ComplianceClient(address, embedded(pki, "gateway"), timeout_s=2.0)
    await wait_until_it_answers("compliance", client, lambda: client.declared(str(uuid.uuid4())), proc)


def test_serve_gateway_reaches_serve_compliance_over_grpc(tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets) -> None:
    pki = tmp_path / "pki"
    compliance_base, gateway_base, http = free_internal_base(), free_internal_base(), free_port()
    address = f"127.0.0.1:{compliance_base + 4}"  # internal_base_port + the compliance index (4)
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    compliance = _serve("compliance", tmp_path / "compliance", {
        **common, **_tls_env(pki, "compliance"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(compliance_base)})
    gateway = None
    outputs = []
    try:
        asyncio.run(_wait_for_compliance(address, pki, compliance))
        gateway = _serve("gateway", tmp_path / "gateway", {
            **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(gateway_base),
            "FARAMESH_CLOUD_COMPLIANCE_ADDRESS": address, "FARAMESH_CLOUD_HTTP_PORT": str(http)})
        base = f"http://127.0.0.1:{http}"
        client, org = _sign_up(base, gateway)
        try:
            headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
            api = f"/api/v1/orgs/{org}/compliance"
            declared = client.put(f"{api}/frameworks", headers=headers, json={"frameworks": ["gdpr", "soc2"]})
            assert declared.status_code == 200, declared.text
            assert [d["framework"] for d in client.get(f"{api}/frameworks").json()] == ["gdpr", "soc2"]

            exported = client.get(f"/api/v1/orgs/{org}/audit-log/export")
            assert exported.status_code == 200, exported.text
            (artifact,) = client.get(f"{api}/library").json()
            assert artifact["kind"] == "platform-audit-export"
            assert artifact["sha256"] == hashlib.sha256(exported.content).hexdigest()
            back = client.get(f"{api}/artifacts/{artifact['artifact_id']}/download")
            assert back.status_code == 200 and back.content == exported.content
            shared = client.post(f"{api}/artifacts/{artifact['artifact_id']}/shares", headers=headers,
                                 json={"days": 3, "note": "auditor"})
            assert shared.status_code == 201, shared.text
            page = httpx.get(base + f"/share/{shared.json()['token']}/download", timeout=30)
            assert page.status_code == 200 and page.content == exported.content

            now = datetime.now(UTC)
            asked = client.post(f"{api}/reports", headers=headers, json={
                "framework": "soc2", "start": (now - timedelta(days=1)).isoformat(), "end": now.isoformat()})
            assert asked.status_code == 202, asked.text  # accepted: made in the background
            report_id = asked.json()["report_id"]

            def failed() -> bool:
                return client.get(f"{api}/reports/{report_id}").json()["state"] == "failed"
            asyncio.run(eventually(failed, "the report failed: no fleet or audit index runs", within_s=90))
            error = client.get(f"{api}/reports/{report_id}").json()["error"]
            assert error.startswith("the fleet service did not answer"), error  # the first source it reads

            outputs.append(_stop(compliance))
            down = client.get(f"{api}/frameworks")
            assert down.status_code == 503, down.text
            assert "compliance" in down.json()["detail"]
        finally:
            client.close()
    finally:
        outputs.append(_stop(compliance))
        if gateway is not None:
            outputs.append(_stop(gateway))
    assert compliance.returncode == 0, "\n".join(outputs)[-4000:]
    assert gateway is not None and gateway.returncode == 0, "\n".join(outputs)[-4000:]

"""Distributed mode, two processes: `faramesh-cloud serve fleet` and `faramesh-cloud serve
gateway` on one PostgreSQL, each with its own data dir, internal port range and certificate
from one operator CA (``FARAMESH_CLOUD_INTERNAL_TLS_*``). The fleet service binds its internal
API on ``internal_bind_host`` while its advertised host is a name that does not even resolve;
the gateway dials it at ``FARAMESH_CLOUD_FLEET_ADDRESS``. What the Fleet REST API answers comes
through that gRPC API: with the fleet process stopped, the same request is a 503."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.rpc.internal_pki import embedded
from tests.fixtures.identity import PASSWORD
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.serve_support import wait_until_it_answers

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _tls_env(pki: Path, service: str) -> dict[str, str]:
    embedded(pki, service)  # the operator's CA issues this service's certificate
    return {"FARAMESH_CLOUD_INTERNAL_TLS_CA": str(pki / "ca.pem"),
            "FARAMESH_CLOUD_INTERNAL_TLS_CERT": str(pki / f"{service}.pem"),
            "FARAMESH_CLOUD_INTERNAL_TLS_KEY": str(pki / f"{service}-key.pem")}


def _serve(service: str, data_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "faramesh_cloud", "serve", service, "--data-dir", str(data_dir)],
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> str:
    if proc.returncode is not None:  # already stopped and read
        return ""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=30)
    return out.decode(errors="replace")


async def _wait_for_fleet(address: str, pki: Path, proc: subprocess.Popen[bytes]) -> None:
    client = FleetQueryClient(address, embedded(pki, "gateway"), timeout_s=2.0)
    await wait_until_it_answers("fleet", client, lambda: client.stacks(str(uuid.uuid4())), proc)


def _sign_up(base: str, proc: subprocess.Popen[bytes]) -> tuple[httpx.Client, str]:
    """The first owner, through /setup as a person does; the client and the organisation's slug."""
    client = httpx.Client(base_url=base, timeout=10)
    deadline = time.monotonic() + 90
    while True:
        assert proc.poll() is None, "serve gateway exited"
        try:
            form = client.get("/setup")
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "serve gateway did not start"
            time.sleep(0.3)
    found = _CSRF.search(form.text)
    assert found, form.text[:500]
    answer = client.post("/setup", data={"name": "Operator", "email": "operator@example.test", "password": PASSWORD,
                                         "org_name": "Ops", "org_slug": "ops", "csrf_token": found.group(1)})
    assert answer.status_code == 303, answer.text[:500]
    return client, "ops"


def test_serve_gateway_reads_the_fleet_over_grpc_from_serve_fleet(tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets) -> None:
    pki = tmp_path / "pki"
    fleet_base, gateway_base, http = free_internal_base() + 1, free_internal_base(), free_port()
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    fleet = _serve("fleet", tmp_path / "fleet", {
        **common, **_tls_env(pki, "fleet"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(fleet_base - 1),
        "FARAMESH_CLOUD_INTERNAL_BIND_HOST": "127.0.0.1",
        "FARAMESH_CLOUD_ALLOW_PRIVATE_DESTINATIONS": "true",  # a git base URL on loopback (below)
        "FARAMESH_CLOUD_INTERNAL_HOST": "fleet.does-not-resolve.invalid"})  # advertised, never bound
    gateway = None
    outputs = []
    try:
        fleet_address = f"127.0.0.1:{fleet_base}"  # internal_base_port + the fleet's index (1)
        asyncio.run(_wait_for_fleet(fleet_address, pki, fleet))
        gateway = _serve("gateway", tmp_path / "gateway", {
            **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(gateway_base),
            "FARAMESH_CLOUD_FLEET_ADDRESS": fleet_address, "FARAMESH_CLOUD_HTTP_PORT": str(http)})
        client, org = _sign_up(f"http://127.0.0.1:{http}", gateway)
        try:
            headers = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
            created = client.post(f"/api/v1/orgs/{org}/stacks", json={"name": "payments-prod"}, headers=headers)
            assert created.status_code == 201, created.text
            listed = client.get(f"/api/v1/orgs/{org}/fleet/stacks")
            assert listed.status_code == 200, listed.text
            assert [(s["name"], s["sync_status"]) for s in listed.json()] == [("payments-prod", "never connected")]
            assert client.get(f"/o/{org}/fleet").status_code == 200
            status = client.get("/api/v1/status").json()
            assert [s["name"] for s in status["services"]] == ["gateway"]
            # The git integrations through the fleet's GitService (the token goes in, never out).
            connected = client.post(f"/api/v1/orgs/{org}/git/connections", headers=headers, json={
                "name": "gh", "provider": "github", "base_url": "http://127.0.0.1:9", "token": "t" * 20})
            assert connected.status_code == 201, connected.text
            assert [(c["name"], c["token_hint"]) for c in client.get(f"/api/v1/orgs/{org}/git/connections").json()] \
                == [("gh", "tttt")]
            assert client.get(f"/o/{org}/settings/integrations/git").status_code == 200

            outputs.append(_stop(fleet))
            down = client.get(f"/api/v1/orgs/{org}/fleet/stacks")
            assert down.status_code == 503, down.text
            assert "fleet service is not answering" in down.json()["detail"]
            assert client.get(f"/api/v1/orgs/{org}/git/connections").status_code == 503
            assert client.get(f"/o/{org}/settings/stacks").status_code == 200  # the registry is not the fleet's
        finally:
            client.close()
    finally:
        outputs.append(_stop(fleet))
        if gateway is not None:
            outputs.append(_stop(gateway))
    assert fleet.returncode == 0, "\n".join(outputs)[-4000:]
    assert gateway is not None and gateway.returncode == 0, "\n".join(outputs)[-4000:]

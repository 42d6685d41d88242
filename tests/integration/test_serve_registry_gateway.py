"""Distributed mode, two processes: `faramesh-cloud serve registry` and `faramesh-cloud serve
gateway` on one PostgreSQL, each with its own data dir and certificate from one operator CA.
The gateway reaches the registry's catalog only over its internal gRPC API
(``FARAMESH_CLOUD_REGISTRY_ADDRESS``): the Registry section's pages and REST twin list the
seeded providers and show a pack with its rule preview; the publishing REST twin claims a
namespace and refuses a reserved one (400) and a non-reviewer's queue (403) in the registry's
words; the organisation's trust set is edited over the same API (an unknown key refused in the
registry's words) and judges the pack's signature (org-untrusted); with the registry stopped, they answer 503 naming it."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path

import pytest

from faramesh_cloud.registry.client import RegistryClient
from faramesh_cloud.rpc.internal_pki import embedded
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_serve_fleet_gateway import _serve, _sign_up, _stop, _tls_env
from tests.integration.test_up import free_port
from tests.ports import free_internal_base
from tests.serve_support import wait_until_it_answers

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]


async def _wait_for_registry(address: str, pki: Path, proc: subprocess.Popen[bytes]) -> None:
    client = RegistryClient(address, embedded(pki, "gateway"), timeout_s=2.0)
    await wait_until_it_answers("registry", client, lambda: client.open_alerts(str(uuid.uuid4())), proc)


def test_serve_gateway_reads_the_registry_over_grpc_from_serve_registry(tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets) -> None:
    pki = tmp_path / "pki"
    registry_base, gateway_base, http = free_internal_base(), free_internal_base(), free_port()
    address = f"127.0.0.1:{registry_base + 5}"  # internal_base_port + the registry index (5)
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    registry = _serve("registry", tmp_path / "registry", {
        **common, **_tls_env(pki, "registry"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(registry_base),
        "FARAMESH_CLOUD_REGISTRY_HTTP_PORT": str(free_port())})
    gateway = None
    outputs = []
    try:
        asyncio.run(_wait_for_registry(address, pki, registry))
        gateway = _serve("gateway", tmp_path / "gateway", {
            **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(gateway_base),
            "FARAMESH_CLOUD_REGISTRY_ADDRESS": address, "FARAMESH_CLOUD_HTTP_PORT": str(http)})
        client, org = _sign_up(f"http://127.0.0.1:{http}", gateway)
        try:
            page = client.get(f"/o/{org}/registry/providers")
            assert page.status_code == 200, page.text[:2000]
            assert "faramesh/vault" in page.text
            listed = client.get(f"/api/v1/orgs/{org}/registry/providers", params={"platform": "linux_arm64"})
            assert listed.status_code == 200, listed.text
            assert listed.json()["total"] == 3
            bad = client.get(f"/api/v1/orgs/{org}/registry/providers", params={"tier": "gold"})
            assert bad.status_code == 422 and "unknown trust tier 'gold'" in bad.text, bad.text
            pack = client.get(f"/api/v1/orgs/{org}/registry/policies/faramesh/stripe")
            assert pack.status_code == 200, pack.text
            assert pack.json()["version"]["preview"]["parses"] and pack.json()["version"]["signature_status"]["verified"]
            missing = client.get(f"/api/v1/orgs/{org}/registry/policies/faramesh/nope")
            assert missing.status_code == 404, missing.text
            detail = client.get(f"/o/{org}/registry/policies/faramesh/stripe")
            assert detail.status_code == 200 and "payment-bot" in detail.text

            csrf = {"X-CSRF-Token": client.get("/api/v1/me").json()["csrf_token"]}
            publish = f"/api/v1/orgs/{org}/registry"
            claimed = client.post(f"{publish}/publishers", headers=csrf,
                                  json={"namespace": "opsco", "display_name": "Ops Co"})
            assert claimed.status_code == 201 and claimed.json()["state"] == "pending", claimed.text
            assert [p["namespace"] for p in client.get(f"{publish}/publishers").json()] == ["opsco"]
            reserved = client.post(f"{publish}/publishers", headers=csrf, json={"namespace": "faramesh"})
            assert reserved.status_code == 400 and "reserved" in reserved.json()["detail"], reserved.text
            not_reviewer = client.get(f"{publish}/review/queue")
            assert not_reviewer.status_code == 403 and "platform reviewer" in not_reviewer.text, not_reviewer.text

            # The organisation's trust set, kept by the registry: trust only Cloud's key and the
            # official pack is "signed by a key your organisation does not trust".
            keys = client.get(f"{publish}/trust-keys").json()
            assert all(k["trusted"] for k in keys if k["origin"] in ("official", "cloud")), keys
            cloud = next(k["key_id"] for k in keys if k["origin"] == "cloud")
            unknown = client.put(f"{publish}/trust-keys", headers=csrf, json={"key_ids": ["nobody-1"]})
            assert unknown.status_code == 422 and "not a key this registry lists: nobody-1" in unknown.text
            saved = client.put(f"{publish}/trust-keys", headers=csrf, json={"key_ids": [cloud]})
            assert saved.status_code == 200, saved.text
            assert {k["key_id"] for k in saved.json() if k["trusted"]} == {cloud}
            distrusted = client.get(f"{publish}/policies/faramesh/stripe").json()["version"]["signature_status"]
            assert distrusted["verdict"] == "org-untrusted" and not distrusted["verified"], distrusted

            outputs.append(_stop(registry))
            down = client.get(f"/api/v1/orgs/{org}/registry/providers")
            assert down.status_code == 503, down.text
            assert "registry" in down.json()["detail"]
        finally:
            client.close()
    finally:
        outputs.append(_stop(registry))
        if gateway is not None:
            outputs.append(_stop(gateway))
    assert registry.returncode == 0, "\n".join(outputs)[-4000:]
    assert gateway is not None and gateway.returncode == 0, "\n".join(outputs)[-4000:]

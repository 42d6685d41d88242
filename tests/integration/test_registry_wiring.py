"""Where the registry's daemon API is served: under ``up`` on the gateway's port at
``/registry`` (the running service's own app); under ``serve registry`` on its own listener
(``registry_http_port``) at ``/registry``. Real uvicorn, real HTTP, PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime import registry_wiring
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import TlsPair
from tests.integration.test_gateway_daemon_feeds import _refused, _settings, free_port

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


async def test_up_the_gateway_serves_the_registry_at_slash_registry(
        database: Database, postgres_log: PostgresLog, tmp_path: Path, sync_tls: TlsPair) -> None:
    settings = _settings(tmp_path, sync_tls, registry_http_port=free_port())
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ctx = RuntimeContext(platform, "now", [], ("registry", "gateway"))  # as the runner builds `up`
    registry = registry_wiring.service(ctx)
    ctx.services.append(registry)
    await registry.start()
    try:
        gateway = GatewayService(ctx)
        assert gateway.registry_api is registry.http_app
        await gateway.start()
        try:
            async with httpx.AsyncClient(base_url=settings.http_url + "/registry/") as client:
                pack = await client.get("v1/policies/faramesh%2Fstripe/versions/1.0.0")
                manifest = await client.get("v1/providers/faramesh%2Fvault/versions/1.0.0")
        finally:
            await gateway.stop()
        assert _refused(settings.registry_http_port)  # no listener of its own under `up`
    finally:
        await registry.stop()
    assert pack.status_code == 200 and "payment-bot" in pack.json()["policy_fpl"]
    assert manifest.json()["downloads"]["linux_amd64"]["url"].startswith(
        settings.http_url + "/registry/v1/providers/faramesh%2Fvault/versions/1.0.0/binaries/")
    assert (tmp_path / "registry" / "blobs").is_dir() and (tmp_path / "keys" / "registry-ed25519-1.key").is_file()


async def test_serve_registry_listens_on_its_own_port(database: Database, postgres_log: PostgresLog,
                                                       tmp_path: Path, sync_tls: TlsPair) -> None:
    settings = _settings(tmp_path, sync_tls, registry_http_port=free_port())
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    registry = registry_wiring.service(RuntimeContext(platform, "now", [], ("registry",)))
    await registry.start()
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{settings.registry_http_url}/registry/v1/search?q=vault")
    finally:
        await registry.stop()
    assert r.status_code == 200 and [x["name"] for x in r.json()["results"]] == ["faramesh/vault"]
    assert "daemon API http://" in registry.info().address

"""Where the registry's daemon API is served: under ``up`` on the gateway's port at
``/registry`` (the running service's own app), with the people-facing Registry section on the
same gateway; under ``serve registry`` on its own listener (``registry_http_port``) at
``/registry``. Real uvicorn, real HTTP, PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud.fleet.client import FleetQueryClient
from faramesh_cloud.fleet.service import FleetService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.registry.client import RegistryClient
from faramesh_cloud.runtime import registry_wiring
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
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
            async with httpx.AsyncClient(base_url=settings.http_url) as client:
                section = await client.get("/api/v1/orgs/acme/registry/policies")  # mounted: asks who you are
        finally:
            await gateway.stop()
        assert _refused(settings.registry_http_port)  # no listener of its own under `up`
    finally:
        await registry.stop()
    assert pack.status_code == 200 and "payment-bot" in pack.json()["policy_fpl"]
    assert section.status_code == 401, section.text
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


async def test_the_pack_alerts_read_the_fleet_in_process_under_up_and_over_grpc_otherwise(
        database: Database, postgres_log: PostgresLog, tmp_path: Path, sync_tls: TlsPair) -> None:
    """Under ``up`` the alerts read the running fleet service's own query and the gateway lists
    the registry's own alert reads; apart, the fleet's gRPC client with the registry's
    certificate (closed when the registry stops), and a gateway alone lists the registry's gRPC
    client's (the same client as its Registry section, with the gateway's certificate)."""
    settings = _settings(tmp_path, sync_tls, registry_http_port=free_port())
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    fleet = FleetService(platform, StackStore(database), 120.0)
    assert registry_wiring.fleet_port(settings, [fleet]) is fleet.query
    apart = registry_wiring.fleet_port(settings, [])
    assert isinstance(apart, FleetQueryClient) and apart.address == settings.internal_dial_address("fleet")
    await apart.close()

    ctx = RuntimeContext(platform, "now", [fleet], ("fleet", "registry", "gateway"))
    registry = registry_wiring.service(ctx)
    assert registry.registry.alerts is not None
    assert registry.registry.alerts.evaluator._fleet is fleet.query
    up, alone = FastAPI(), FastAPI()
    assert registry_wiring.gateway_port(settings, [fleet, registry]) is registry.api
    registry_wiring.mount_alerts(up, registry_wiring.alert_reads([fleet, registry], registry.api))
    port = registry_wiring.gateway_port(settings, [])
    assert isinstance(port, RegistryClient) and port.address == settings.internal_dial_address("registry")
    registry_wiring.mount_alerts(alone, registry_wiring.alert_reads([], port))
    await registry_wiring.release_port(port)
    assert up.state.pack_alerts is registry.alert_reads and alone.state.pack_alerts is port

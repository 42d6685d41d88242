"""The runtime mounts ingest's daemon feeds into the gateway's HTTP server at /v1: a daemon
reaches /v1/auth/me and /v1/ingest/dpr on the gateway's port (real uvicorn, real HTTP)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.events.topics import DEFAULT_PARTITIONS, LEGACY_DECISIONS
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import MakeTenant, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_gateway_serves_the_legacy_feed_at_v1(
    database: Database, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path
) -> None:
    await postgres_log.create_topic(LEGACY_DECISIONS, DEFAULT_PARTITIONS[LEGACY_DECISIONS])
    settings = Settings(data_dir=tmp_path, http_port=free_port())
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    gateway = GatewayService(RuntimeContext(platform, "now", []))
    await gateway.start()
    try:
        acme = await tenant()
        headers = {"Authorization": f"Bearer {acme.key}"}
        body = (vectors_dir / "horizon_ingest_batch_example.json").read_bytes().replace(
            b"org_01HZX3EXAMPLE", acme.org.org_id.encode())
        async with httpx.AsyncClient(base_url=settings.http_url) as client:
            me = await client.get("/v1/auth/me", headers=headers)
            pushed = await client.post("/v1/ingest/dpr", headers=headers, content=body)
            status = await client.get("/api/v1/status")
    finally:
        await gateway.stop()
    assert me.status_code == 200 and me.json()["org_id"] == acme.org.org_id
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 6
    assert status.status_code == 200  # the gateway's own routes are untouched
    assert len(await read_topic(postgres_log, LEGACY_DECISIONS)) == 6

"""Where the daemon's HTTP ways in (ingest's legacy feed, webhooks, /v1/auth/me) are served.

* ``up`` (ingest and the gateway in one process): the gateway's HTTP server mounts the running
  ingest service's own app at /v1 (one URL for people and daemons); ingest opens no port of
  its own, and a gateway alone builds no ingest store.
* Ingest without the gateway (``serve ingest``): ingest serves them on its own listener
  (``ingest_http_port``), behind the gateway's edge protections; a gateway without ingest
  (``serve gateway``) forwards its /v1 daemon requests there, and answers 503 in the feeds'
  error shape while ingest is down.

Real uvicorn on both sides, real HTTP, the real ingest service on PostgreSQL and PostgresLog.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.config import Settings
from faramesh_cloud.events.legacy import SOURCE_HORIZON, SOURCE_WEBHOOK
from faramesh_cloud.events.topics import LEGACY_DECISIONS, Origin
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.runtime import ingest_wiring
from faramesh_cloud.runtime.feeds_proxy import IngestHttpProxy
from faramesh_cloud.runtime.gateway_service import GatewayService
from faramesh_cloud.runtime.platform import Platform
from faramesh_cloud.runtime.services import RuntimeContext
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import MakeTenant, TlsPair, read_topic
from tests.integration.test_daemon_webhooks import event, signed
from tests.ports import free_internal_base

pytestmark = [pytest.mark.postgres, pytest.mark.integration]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings(tmp_path: Path, sync_tls: TlsPair, **extra: object) -> Settings:
    return Settings(data_dir=tmp_path, http_port=free_port(), sync_host="127.0.0.1", sync_port=free_port(),
                    ingest_http_port=free_port(), internal_base_port=free_internal_base(),
                    tls_cert=sync_tls.cert, tls_key=sync_tls.key, **extra)  # type: ignore[arg-type]


def _refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


async def _table_exists(database: Database, name: str) -> bool:
    async with database.connection() as conn:
        row = await (await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))).fetchone()
    return bool(row and row[0])


def _batch(vectors_dir: Path, org_id: str) -> bytes:
    return (vectors_dir / "horizon_ingest_batch_example.json").read_bytes().replace(
        b"org_01HZX3EXAMPLE", org_id.encode())


async def test_up_the_gateway_serves_the_running_ingest_services_own_feeds_at_v1(
    database: Database, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path,
    sync_tls: TlsPair,
) -> None:
    settings = _settings(tmp_path, sync_tls)
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ctx = RuntimeContext(platform, "now", [], ("ingest", "gateway"))  # as the runner builds `up`
    ingest = ingest_wiring.service(ctx)
    ctx.services.append(ingest)
    await ingest.start()
    try:
        gateway = GatewayService(ctx)
        assert gateway.daemon_feeds is ingest.feeds_app  # the running service's app, not a second one
        await gateway.start()
        try:
            acme = await tenant()
            headers = {"Authorization": f"Bearer {acme.key}"}
            async with httpx.AsyncClient(base_url=settings.http_url) as client:
                me = await client.get("/v1/auth/me", headers=headers)
                pushed = await client.post("/v1/ingest/dpr", headers=headers,
                                           content=_batch(vectors_dir, acme.org.org_id))
                status = await client.get("/api/v1/status")
        finally:
            await gateway.stop()
        assert _refused(settings.ingest_http_port)  # ingest opened no listener of its own
    finally:
        await ingest.stop()
    assert me.status_code == 200 and me.json()["org_id"] == acme.org.org_id
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 6
    assert status.status_code == 200  # the gateway's own routes are untouched
    stored = await read_topic(postgres_log, LEGACY_DECISIONS)
    assert len(stored) == 6
    assert {Origin.from_headers(m.headers).org_id for m in stored} == {acme.org.org_id}


async def test_a_gateway_alone_builds_no_ingest_store_and_runs_no_ingest_migration(
    database: Database, postgres_log: PostgresLog, tmp_path: Path, sync_tls: TlsPair,
) -> None:
    settings = _settings(tmp_path, sync_tls)
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    gateway = GatewayService(RuntimeContext(platform, "now", [], ("gateway",)))  # serve gateway
    assert isinstance(gateway.daemon_feeds, IngestHttpProxy)
    assert gateway.daemon_feeds.base_url == settings.ingest_http_url
    await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=settings.http_url) as client:
            down = await client.post(f"/v1/webhooks/faramesh/{'0' * 8}-0000-0000-0000-{'0' * 12}",
                                     content=event("deny"), headers={"Content-Type": "application/json"})
    finally:
        await gateway.stop()
    # ingest is not running: the gateway answers in the feeds' error shape, and it never
    # created (so never read) ingest's webhook secrets table
    assert down.status_code == 503, down.text
    assert "ingest service is not answering" in down.json()["error"] and down.headers["retry-after"] == "5"
    assert not await _table_exists(database, "webhook_secrets")


async def test_serve_ingest_has_its_own_listener_and_serve_gateway_forwards_to_it(
    database: Database, postgres_log: PostgresLog, tenant: MakeTenant, vectors_dir: Path, tmp_path: Path,
    sync_tls: TlsPair,
) -> None:
    settings = _settings(tmp_path, sync_tls, http_max_body_bytes=8 * 1024 * 1024)
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ingest = ingest_wiring.service(RuntimeContext(platform, "now", [], ("ingest",)))  # serve ingest
    assert isinstance(ingest, IngestService)
    await ingest.start()
    gateway = GatewayService(RuntimeContext(platform, "now", [], ("gateway",)))  # serve gateway
    await gateway.start()
    try:
        assert "HTTP daemon feeds on" in ingest.info().role
        acme = await tenant()
        secret = await WebhookSecretStore(database).set_secret(acme.org.org_id, acme.stack.stack_id)
        headers = {"Authorization": f"Bearer {acme.key}"}
        body = event("deny")
        own = f"http://127.0.0.1:{settings.ingest_http_port}"
        async with httpx.AsyncClient(base_url=settings.http_url) as via_gateway, \
                httpx.AsyncClient(base_url=own) as direct:
            me = await via_gateway.get("/v1/auth/me", headers=headers)
            pushed = await via_gateway.post("/v1/ingest/dpr", headers=headers,
                                            content=_batch(vectors_dir, acme.org.org_id))
            hook = await via_gateway.post(f"/v1/webhooks/faramesh/{acme.stack.stack_id}",
                                          headers=signed(secret, body), content=body)
            forged = await via_gateway.post(f"/v1/webhooks/faramesh/{acme.stack.stack_id}",
                                            headers=signed("fmc_whsec_not-the-secret-at-all", body), content=body)
            unknown_key = await via_gateway.get("/v1/auth/me", headers={"Authorization": "Bearer fmc_sk_nope"})
            # 3 MiB: under the gateway's own limit here, over the feeds' 2 MiB: refused at the gateway
            too_big = await via_gateway.post("/v1/ingest/dpr", headers=headers, content=b"[" * (3 << 20))
            direct_me = await direct.get("/v1/auth/me", headers=headers)
            direct_nul = await direct.post("/v1/ingest/dpr", headers=headers,
                                           json={"events": [{"agent_id": "a\x00"}]})
            direct_big = await direct.post("/v1/ingest/dpr", headers=headers, content=b"[" * (3 << 20))
            not_gateway = await direct.get("/api/v1/status")
    finally:
        await gateway.stop()
        await ingest.stop()
    assert me.status_code == 200 and me.json()["org_id"] == acme.org.org_id
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 6, pushed.text
    assert hook.status_code == 200 and hook.json() == {"accepted": 1, "pending_approval": False}, hook.text
    assert forged.status_code == 401 and "X-Faramesh-Signature" in forged.json()["error"]
    assert unknown_key.status_code == 401 and unknown_key.headers["www-authenticate"].startswith("Bearer")
    assert too_big.status_code == 413 and "2097152" in too_big.json()["error"]
    assert direct_me.status_code == 200 and direct_me.json()["stack_id"] == acme.stack.stack_id
    assert direct_nul.status_code == 400 and "NUL" in direct_nul.json()["error"]
    assert direct_big.status_code == 413 and "2097152" in direct_big.json()["error"]
    assert not_gateway.status_code == 404  # ingest's listener serves the feeds only
    stored = await read_topic(postgres_log, LEGACY_DECISIONS)
    origins = [Origin.from_headers(m.headers) for m in stored]
    assert {(o.org_id, o.stack_id) for o in origins} == {(acme.org.org_id, acme.stack.stack_id)}
    assert sorted(o.source for o in origins) == sorted([SOURCE_HORIZON] * 6 + [SOURCE_WEBHOOK])


async def test_ingests_own_listener_names_its_setting_when_its_port_is_taken(
    database: Database, postgres_log: PostgresLog, tmp_path: Path, sync_tls: TlsPair,
) -> None:
    from faramesh_cloud.rpc.ports import PortUnavailable

    settings = _settings(tmp_path, sync_tls)
    platform = Platform(settings, database, postgres_log, None)  # type: ignore[arg-type]
    ingest = ingest_wiring.service(RuntimeContext(platform, "now", [], ("ingest",)))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", settings.ingest_http_port))
        taken.listen()
        with pytest.raises(PortUnavailable) as refused:
            await ingest.start()
    assert "FARAMESH_CLOUD_INGEST_HTTP_PORT" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert _refused(settings.sync_port)  # the sync channel did not stay up behind the error

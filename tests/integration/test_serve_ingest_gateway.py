"""Distributed mode, two processes: `faramesh-cloud serve gateway` and `faramesh-cloud serve
ingest` on one PostgreSQL, each with its own data dir. The daemon's HTTP ways in are ingest's:
`serve ingest` serves them on its own listener (``FARAMESH_CLOUD_INGEST_HTTP_PORT``), and a
daemon configured with the gateway's URL keeps working because the gateway forwards its /v1
daemon requests to ``FARAMESH_CLOUD_INGEST_HTTP_ADDRESS``.

The gateway starts first, alone: a webhook sent to it is a 503 in the feeds' error shape, and
ingest's ``webhook_secrets`` table does not exist (the gateway's process neither reads nor
migrates it). Then ingest starts: the legacy Horizon feed and a signed webhook posted to the
gateway land on ``decisions.legacy.v1`` under the stack key's organisation and stack."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.events.legacy import SOURCE_HORIZON, SOURCE_WEBHOOK
from faramesh_cloud.events.topics import LEGACY_DECISIONS, Origin, stack_key
from faramesh_cloud.ingest.feeds.webhook_secrets import WebhookSecretStore
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import MakeTenant, read_topic
from tests.fixtures.secrets import SharedSecrets
from tests.integration.test_daemon_webhooks import event, signed
from tests.integration.test_gateway_daemon_feeds import _batch, _table_exists
from tests.integration.test_serve_fleet_gateway import _serve, _stop, _tls_env
from tests.integration.test_up import free_port
from tests.ports import free_internal_base

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]


async def _answering(url: str, proc: object, what: str) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            assert getattr(proc, "poll")() is None, f"{what} exited"  # noqa: B009
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"{what} did not start"
                await asyncio.sleep(0.3)


async def test_serve_gateway_forwards_the_daemon_feeds_to_serve_ingest(
        tmp_path: Path, pg_url: str, shared_secrets: SharedSecrets, database: Database, postgres_log: PostgresLog, tenant: MakeTenant,
        vectors_dir: Path) -> None:
    pki = tmp_path / "pki"
    http, ingest_http = free_port(), free_port()
    common = {"FARAMESH_CLOUD_POSTGRES_URL": pg_url, **shared_secrets.env}
    gateway = _serve("gateway", tmp_path / "gateway", {
        **common, **_tls_env(pki, "gateway"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base()),
        "FARAMESH_CLOUD_HTTP_PORT": str(http), "FARAMESH_CLOUD_INGEST_HTTP_ADDRESS": f"127.0.0.1:{ingest_http}"})
    ingest = None
    outputs = []
    try:
        base = f"http://127.0.0.1:{http}"
        await _answering(f"{base}/api/v1/status", gateway, "serve gateway")
        acme = await tenant()
        headers = {"Authorization": f"Bearer {acme.key}"}
        body = event("deny")
        hook_url = f"/v1/webhooks/faramesh/{acme.stack.stack_id}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as daemon:
            down = await daemon.post(hook_url, content=body, headers={"Content-Type": "application/json"})
            assert down.status_code == 503, down.text
            assert "ingest service is not answering" in down.json()["error"]
            assert not await _table_exists(database, "webhook_secrets")  # the gateway never made it

            ingest = _serve("ingest", tmp_path / "ingest", {
                **common, **_tls_env(pki, "ingest"), "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(free_internal_base()),
                "FARAMESH_CLOUD_SYNC_PORT": str(free_port()), "FARAMESH_CLOUD_INGEST_HTTP_PORT": str(ingest_http)})
            await _answering(f"http://127.0.0.1:{ingest_http}/v1/auth/me", ingest, "serve ingest")
            secret = await WebhookSecretStore(database).set_secret(acme.org.org_id, acme.stack.stack_id)

            me = await daemon.get("/v1/auth/me", headers=headers)
            assert me.status_code == 200 and me.json()["org_id"] == acme.org.org_id, me.text
            pushed = await daemon.post("/v1/ingest/dpr", headers=headers, content=_batch(vectors_dir, acme.org.org_id))
            assert pushed.status_code == 200 and pushed.json()["accepted"] == 6, pushed.text
            hook = await daemon.post(hook_url, headers=signed(secret, body), content=body)
            assert hook.status_code == 200 and hook.json() == {"accepted": 1, "pending_approval": False}, hook.text
            forged = await daemon.post(hook_url, headers=signed("fmc_whsec_someone-elses-secret", body), content=body)
            assert forged.status_code == 401, forged.text
    finally:
        if ingest is not None:
            outputs.append(await asyncio.to_thread(_stop, ingest))
        outputs.append(await asyncio.to_thread(_stop, gateway))
    stored = await read_topic(postgres_log, LEGACY_DECISIONS)
    assert {m.key for m in stored} == {stack_key(acme.org.org_id, acme.stack.stack_id)}
    origins = [Origin.from_headers(m.headers) for m in stored]
    assert {(o.org_id, o.stack_id) for o in origins} == {(acme.org.org_id, acme.stack.stack_id)}
    assert sorted(o.source for o in origins) == sorted([SOURCE_HORIZON] * 6 + [SOURCE_WEBHOOK])
    assert gateway.returncode == 0, "\n".join(outputs)[-4000:]
    assert ingest is not None and ingest.returncode == 0, "\n".join(outputs)[-4000:]

"""Observability forwarding as ``faramesh-cloud up`` composes it (the runtime's service
factories over one platform, real ports): the first owner signs in over HTTP, adds an OTLP
destination on Settings → Integrations → External observability's REST twin, a daemon pushes
DPRs over the sync channel (gRPC, TLS 1.3) and the local OTLP receiver gets each one; the
page then shows the delivery. Proves the wiring: the service in SERVICES, its migrations
applied at start-up, the gateway given the running service's own API."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.rpc.sync_client import SyncClient
from faramesh_cloud.runtime.platform import open_platform
from faramesh_cloud.runtime.service import Service
from faramesh_cloud.runtime.services import SERVICES, RuntimeContext
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import PASSWORD
from tests.forwarding_receivers import Receiver, receiver
from tests.simulator_support import eventually
from tests.sync_items import dpr_item, synthetic_records
from tests.system_support import cloud_settings

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextlib.asynccontextmanager
async def running(data_dir: Path, pg_url: str, names: tuple[str, ...]) -> AsyncIterator[RuntimeContext]:
    platform = await open_platform(cloud_settings(data_dir, pg_url), with_olap=False)
    ctx = RuntimeContext(platform, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), [], names)
    started: list[Service] = []
    try:
        for name in names:
            service = SERVICES[name].factory(ctx)
            ctx.services.append(service)
            await service.start()
            started.append(service)
        yield ctx
    finally:
        for service in reversed(started):
            await asyncio.wait_for(service.stop(), 30)
        await platform.close()


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


async def test_a_push_reaches_the_destination_an_owner_added_in_the_ui(pg_url: str, tmp_path: Path) -> None:
    with receiver("otlp", "Bearer s3cret") as collector:
        async with running(tmp_path / "cloud", pg_url, ("ingest", "forwarding", "gateway")) as ctx, \
                httpx.AsyncClient(base_url=ctx.platform.settings.http_url, timeout=30) as http:
            await _push_and_see(ctx, http, collector)


async def _push_and_see(ctx: RuntimeContext, http: httpx.AsyncClient, collector: Receiver) -> None:
    setup = await http.get("/setup")
    answer = await http.post("/setup", data={
        "name": "Owner", "email": "owner@example.test", "password": PASSWORD,
        "org_name": _value(setup.text, "org_name") or "Acme", "org_slug": _value(setup.text, "org_slug") or "acme",
        "csrf_token": _CSRF.search(setup.text).group(1)})  # type: ignore[union-attr]
    assert answer.status_code == 303, re.findall(r'class="flash error"[^>]*>([^<]*)', answer.text)
    slug = answer.headers["location"].split("/")[2]
    page = await http.get(f"/o/{slug}/settings/integrations/observability")
    assert page.status_code == 200, page.text[:300]
    csrf = _CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    made = await http.post(f"/api/v1/orgs/{slug}/forwarding/destinations", headers={"x-csrf-token": csrf},
                           json={"name": "collector", "kind": "otlp", "url": collector.url,
                                 "headers": "authorization=Bearer s3cret", "forward_metrics": False})
    assert made.status_code == 201, made.text

    async with ctx.platform.db.connection() as conn:
        row = await (await conn.execute("SELECT org_id::text FROM orgs WHERE slug = %s", (slug,))).fetchone()
    assert row is not None
    _, key = await StackStore(ctx.platform.db).register_stack(str(row[0]), "payments-prod", "prod")
    settings = ctx.platform.settings
    client = SyncClient(settings.sync_address, key,
                        root_certificates=(settings.data_dir / "tls" / "sync-cert.pem").read_bytes())
    raws = synthetic_records(7)
    try:
        response = await client.push(str(uuid.uuid4()), [dpr_item(i, r) for i, r in enumerate(raws, start=1)])
    finally:
        await client.close()
    assert response.acked_through_sequence == 7

    await eventually(lambda: len(collector.received) == 7, "seven DPRs at the collector", within_s=60)
    assert sorted(rec.body.string_value.encode() for _, rec in collector.received) == sorted(raws)

    async def shown() -> bool:
        text = (await http.get(f"/o/{slug}/settings/integrations/observability")).text
        return 'class="outcome">delivered<' in text
    await eventually(shown, "the delivery on the page", within_s=30)

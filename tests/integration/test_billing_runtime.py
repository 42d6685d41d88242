"""Billing as ``faramesh-cloud up`` composes it (the runtime's service factories over one
platform, real ports): the first owner signs up over HTTP, a daemon pushes DPRs and its stack
status over the sync channel (gRPC, TLS 1.3), and Settings → Billing's REST twin and page show
them metered. Proves the wiring: the service in SERVICES, its migrations applied at start-up,
its consumer groups running, the gateway given the running service's own API."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.rpc.sync_client import SyncClient, push_item
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.identity import PASSWORD
from tests.integration.test_forwarding_runtime import _value, running
from tests.simulator_support import eventually
from tests.sync_items import dpr_item, other_payloads, synthetic_records

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.grpc]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def test_pushed_decisions_are_metered_and_shown_to_the_owner(pg_url: str, tmp_path: Path) -> None:
    async with running(tmp_path / "cloud", pg_url, ("ingest", "billing", "gateway")) as ctx, \
            httpx.AsyncClient(base_url=ctx.platform.settings.http_url, timeout=30) as http:
        setup = await http.get("/setup")
        answer = await http.post("/setup", data={
            "name": "Owner", "email": "owner@example.test", "password": PASSWORD,
            "org_name": _value(setup.text, "org_name") or "Acme", "org_slug": _value(setup.text, "org_slug") or "acme",
            "csrf_token": _CSRF.search(setup.text).group(1)})  # type: ignore[union-attr]
        assert answer.status_code == 303
        slug = answer.headers["location"].split("/")[2]
        async with ctx.platform.db.connection() as conn:
            row = await (await conn.execute("SELECT org_id::text FROM orgs WHERE slug = %s", (slug,))).fetchone()
        assert row is not None
        _, key = await StackStore(ctx.platform.db).register_stack(str(row[0]), "payments-prod", "prod")
        settings = ctx.platform.settings
        client = SyncClient(settings.sync_address, key,
                            root_certificates=(settings.data_dir / "tls" / "sync-cert.pem").read_bytes())
        items = [dpr_item(i, r) for i, r in enumerate(synthetic_records(7), start=1)]
        items.append(push_item(8, other_payloads()["stack_status"]))
        try:
            assert (await client.push(str(uuid.uuid4()), items)).acked_through_sequence == 8
        finally:
            await client.close()

        async def metered() -> bool:
            [month] = (await http.get(f"/api/v1/orgs/{slug}/billing/usage", params={"months": 1})).json()
            return month["meters"] == {"stacks": 1, "decisions": 7, "reports": 0, "registry_bytes": 0, "seats": 1}
        await eventually(metered, "the pushed decisions and stack metered", within_s=60)
        page = await http.get(f"/o/{slug}/settings/billing")
        assert page.status_code == 200 and 'data-value="7"' in page.text

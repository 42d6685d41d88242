"""End to end: a simulated daemon (faramesh_cloud.simulator) syncs over gRPC/TLS 1.3 to the
real ingest server; the fleet projection consumes what ingest appended to the log, and the
stack's status shows on the Fleet page and its REST twin."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI

from faramesh_cloud.fleet.service import FleetProjection
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.fleet import Connection, Fleet, StackSpec
from faramesh_cloud.simulator.sync_parts import SyncOptions
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.domain import Org
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.ingest import MakeTenant
from tests.simulator_support import (
    Cloud,
    cloud_fixture,  # noqa: F401
    eventually,
)

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


async def test_a_simulated_daemon_shows_on_the_fleet_page(
        cloud: Cloud, tenant: MakeTenant, people: People, database: Database, postgres_log: PostgresLog,
        stack_store: StackStore, gateway_app: FastAPI, client_factory: MakeClient, tmp_path: Path) -> None:
    acme = await people.org("acme")
    t = await tenant(Org(acme.org.org_id, acme.org.slug, acme.org.name), name="payments-prod")
    projection = FleetProjection(database, postgres_log, stack_store)
    await projection.start()
    daemon = DaemonOptions(agents=3, rate_per_s=50.0, tick_s=0.02, status_interval_s=0.3,
                           budget_interval_s=0.2, credential_interval_s=0.2)
    fleet = Fleet([StackSpec("pay", t.key)], tmp_path / "sim", Connection(cloud.target, cloud.tls.cert_pem),
                  daemon, SyncOptions(backoff_initial_s=0.05, backoff_max_s=0.3))
    stop = asyncio.Event()
    run = asyncio.create_task(fleet.run(stop, drain_timeout_s=30))
    try:
        async def reported() -> bool:
            view = await projection.query.stack(acme.org.org_id, t.stack.stack_id)
            return view is not None and bool(view.daemon_version) and view.agent_count == 3 \
                and view.health != "unknown"
        await eventually(reported, "the daemon's status and health in the fleet projection")
    finally:
        stop.set()
        await run
        await projection.stop()
    assert fleet.errors == []

    owner = client_factory()
    await sign_in(owner, acme.email, PASSWORD)
    (row,) = (await owner.get("/api/v1/orgs/acme/fleet/stacks")).json()
    assert (row["name"], row["sync_status"], row["agent_count"]) == ("payments-prod", "connected", 3)
    assert row["daemon_version"] and row["health"] in ("healthy", "degraded", "unhealthy")
    page = (await owner.get("/o/acme/fleet")).text
    table = page[page.index('id="stacks"'):]
    assert "payments-prod" in table and row["daemon_version"] in table and 'data-sync="connected"' in table
    agents = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{t.stack.stack_id}/agents")).json()
    assert {"payments-bot", "support-triage", "code-reviewer"} <= {a["agent_id"] for a in agents}
    # The daemon's applied governance.fms came through the sync channel, matching the SHA-256 it reports.
    config = (await owner.get(f"/api/v1/orgs/acme/fleet/stacks/{t.stack.stack_id}/config")).json()
    text = config["governance_fms"]
    assert text and "runtime {" in text and 'cloud_api_key = env("FARAMESH_CLOUD_API_KEY")' in text
    assert {f'agent "{a["agent_id"]}" {{' for a in agents if a["in_latest_status"]} <= set(text.splitlines())
    assert config["governance_fms_sha256"] == config["governance_sha256"]
    assert config["governance_fms_sha256_mismatch"] is False

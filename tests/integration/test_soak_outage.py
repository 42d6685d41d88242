"""Soak (``-m soak``, not in the default run): Cloud stopped for minutes while a daemon keeps
writing, then restarted. Every record in the daemon's WAL is in what the audit query API
returns, exactly once.

The whole product as a user runs it: ``faramesh-cloud up`` in its own process (embedded
PostgreSQL, the PostgreSQL log, the audit index in chDB, the gateway); the reference daemon
(the simulator) syncs over gRPC/TLS 1.3 and keeps writing its WAL and buffer through the
outage; the check reads ``/api/v1/orgs/default/audit/records`` with a platform API key, page
by page, like any client.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from faramesh_cloud.cli.admin import admin_session, operator_principal, resolve_org
from faramesh_cloud.config import Settings
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.simulator.daemon import DaemonOptions
from faramesh_cloud.simulator.fleet import Connection, Fleet, StackSpec
from faramesh_cloud.simulator.sync_parts import SyncOptions
from tests.integration.test_up import Up
from tests.simulator_support import eventually, wal_records

pytestmark = [pytest.mark.soak, pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb,
              pytest.mark.grpc]

OUTAGE_S = 190.0  # "several minutes": at least three
RECORDS_PER_S = 40.0


class LongUp(Up):
    """``Up`` whose output goes to a file: minutes of output would fill an unread pipe."""

    healthy_within_s = 120.0

    def _spawn(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.data_dir.parent / "up.log").open("ab") as output:
            return subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)

    def _finish(self) -> str:
        assert self.proc is not None
        self.proc.wait(timeout=30)
        return self.output()

    def output(self) -> str:
        return (self.data_dir.parent / "up.log").read_text(errors="replace")[-4000:]


async def _credentials(data_dir: Path) -> tuple[str, str, str]:
    """A registered stack (id, sync key) and an Auditor's platform API key in ``default``,
    made the way the admin CLI makes them, beside the running ``up``."""
    async with admin_session(Settings.load(data_dir=data_dir)) as admin:
        org = await resolve_org(admin, None)
        stack, stack_key = await admin.stacks.register_stack(org.org_id, "soak-stack")
        _, api_key = await admin.identity.api_keys.create(org.org_id, "soak reader", Role.AUDITOR,
                                                          operator_principal(org))
    return stack.stack_id, stack_key, api_key


def _query_all(http: int, api_key: str, stack_id: str) -> list[dict[str, Any]]:
    """Every record of the stack the audit API returns, following next_cursor."""
    records: list[dict[str, Any]] = []
    cursor: str | None = None
    with httpx.Client(base_url=f"http://127.0.0.1:{http}", timeout=30,
                      headers={"authorization": f"Bearer {api_key}"}) as client:
        while True:
            params: dict[str, Any] = {"stack": stack_id, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            response = client.get("/api/v1/orgs/default/audit/records", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            records += page["records"]
            cursor = page["next_cursor"]
            if not cursor:
                return records


@pytest.mark.timeout(1800)
async def test_cloud_down_for_minutes_then_every_record_is_queryable_exactly_once(pg_data_dir: Path) -> None:
    data_dir = pg_data_dir / "cloud"  # not tmp_path: the embedded server runs as another user
    up = LongUp(data_dir)
    await asyncio.to_thread(up.start)
    run: asyncio.Task[None] | None = None
    stop = asyncio.Event()
    try:
        stack_id, stack_key, api_key = await _credentials(data_dir)
        cert = (data_dir / "tls" / "sync-cert.pem").read_bytes()
        fleet = Fleet([StackSpec("soak", stack_key)], pg_data_dir / "daemon",
                      Connection(f"127.0.0.1:{up.sync}", cert, "localhost"),
                      DaemonOptions(agents=3, rate_per_s=RECORDS_PER_S, status_interval_s=5.0),
                      SyncOptions(backoff_initial_s=0.5, backoff_max_s=10.0))
        run = asyncio.create_task(fleet.run(stop, drain_timeout_s=300))
        await eventually(lambda: bool(fleet.daemons) and fleet.daemons[0].buffer.acked_through >= 100,
                         "first acknowledgements", within_s=120)
        daemon, sync = fleet.daemons[0], fleet.syncs[0]

        code, _, output = await asyncio.to_thread(up.interrupt)  # Cloud goes away, all of it
        assert code == 0, output
        down_at = daemon.buffer.last_sequence
        await asyncio.sleep(OUTAGE_S)
        assert sync.status.state == "retrying" and sync.status.failures > 0
        acked_while_down = daemon.buffer.acked_through
        assert await daemon.buffer.sequences() == list(range(acked_while_down + 1,
                                                             daemon.buffer.last_sequence + 1))
        assert daemon.buffer.last_sequence > down_at + OUTAGE_S * RECORDS_PER_S / 2  # kept writing

        await asyncio.to_thread(up.start)  # same data dir, same ports
        await eventually(lambda: sync.status.state == "connected"
                         and daemon.buffer.acked_through > daemon.buffer.last_sequence - 500,
                         "catch-up after the outage", within_s=300)
        stop.set()
        await run  # stops writing, then drains the buffer
        run = None
        assert fleet.errors == []
        assert daemon.buffer.queued == 0

        written = wal_records(pg_data_dir / "daemon" / "soak")
        expected = sorted((r["agent_id"], r["record_id"]) for r in map(orjson.loads, written))
        assert len(set(expected)) == len(expected) > OUTAGE_S * RECORDS_PER_S

        async def indexed() -> bool:
            return len(await asyncio.to_thread(_query_all, up.http, api_key, stack_id)) >= len(expected)

        await eventually(indexed, "the audit index to catch up", within_s=300)
        got = await asyncio.to_thread(_query_all, up.http, api_key, stack_id)
        assert sorted((r["agent_id"], r["record_id"]) for r in got) == expected  # each exactly once
    finally:
        stop.set()
        if run is not None:
            await asyncio.wait([run], timeout=60)
        if up.proc is not None and up.proc.poll() is None:
            code, _, output = await asyncio.to_thread(up.interrupt)
            assert code == 0, output

"""`faramesh-cloud up` composes the DPR explorer: the runtime injects the audit reader, so the
Audit pages and their REST twin are served (behind sign-in) and documented; and the live
stream is pushed from the index's commits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.sql.database import Database
from tests.fixtures.gateway import csrf_of
from tests.fixtures.identity import PASSWORD
from tests.integration.audit_support import fleet, publish, records
from tests.integration.test_up import Up, pg_url

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.chdb]


def test_up_serves_the_audit_section(pg_data_dir: Path) -> None:
    up = Up(pg_data_dir / "cloud")  # not tmp_path: the embedded server runs as another user
    up.start()
    try:
        base = f"http://127.0.0.1:{up.http}"
        paths = httpx.get(f"{base}/api/v1/openapi.json", timeout=5).json()["paths"]
        assert "/api/v1/orgs/{org}/audit/records" in paths and "/api/v1/orgs/{org}/audit/stream" in paths
        page = httpx.get(f"{base}/o/default/audit", timeout=5)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        api = httpx.get(f"{base}/api/v1/orgs/default/audit/records", timeout=5)
        assert api.status_code == 401
    finally:
        code, _, output = up.interrupt()
    assert code == 0, output


def test_up_pushes_the_live_stream_and_ends_it_when_stopped(pg_data_dir: Path) -> None:
    """The runtime wires the live views to the index's commits: a DPR appended to the log
    reaches an open stream; stopping Cloud ends that stream (an end event to resume from)
    instead of waiting out its five-minute lifetime."""
    up = Up(pg_data_dir / "cloud")
    up.start()
    try:
        got = asyncio.run(_stream_one_record(f"http://127.0.0.1:{up.http}", pg_url(up.data_dir), up))
    finally:
        if up.proc is not None and up.proc.poll() is None:
            up.interrupt()
    kinds, code, output = got
    assert kinds[0] == "dpr" and kinds[-1] == "end", kinds
    assert code == 0, output


async def _stream_one_record(base: str, url: str, up: Up) -> tuple[list[str], int, str]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as web:
        form = await web.get("/setup")
        await web.post("/setup", data={"name": "Ada", "email": "ada@example.test", "password": PASSWORD,
                                       "org_name": "Acme", "org_slug": "acme", "csrf_token": csrf_of(form.text)})
        (membership,) = (await web.get("/api/v1/me")).json()["memberships"]
        kinds: list[str] = []
        async with web.stream("GET", "/o/acme/audit/live/events", timeout=None) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            async for line in lines:  # the stream is open (its first id) before the record is appended
                if line.startswith("id: "):
                    break
            await _append(url, membership["org"]["id"])
            async for line in lines:
                if line.startswith("event: "):
                    kinds.append(line[7:])
                    if kinds[-1] == "dpr":
                        code, _, output = await asyncio.to_thread(up.interrupt)
        return kinds, code, output


async def _append(url: str, org_id: str) -> None:
    record = records(fleet("up", 1, ["s"], seed=1), 1)
    async with Database(url, max_size=1) as db:
        log = PostgresLog(db)
        await log.start()
        try:
            await publish(log, org_id, "stack-up", record)
        finally:
            await log.close()

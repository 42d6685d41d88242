"""What the gateway tells about the installation, and to whom (real HTTP): anyone gets
liveness (``ok``, ``version``) from ``/api/v1/status`` and the public sync address on the
first page; the data dir, components and internal addresses only an Owner or Admin of an
organisation (session or platform API key)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from faramesh_cloud import __version__
from faramesh_cloud.gateway.app import Status, create_app
from faramesh_cloud.gateway.web.deps import WebDeps
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.outbox.relay import OutboxLag
from faramesh_cloud.runtime.service import ServiceInfo
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People

pytestmark = [pytest.mark.postgres, pytest.mark.integration]

DATA_DIR = "/srv/faramesh-cloud-data-7f3a"
INTERNAL = "127.0.0.1:50123"
SYNC = "cloud.example.test:8443"


def running_status() -> Status:
    return Status(
        mode="embedded", data_dir=DATA_DIR, components={"postgresql": f"embedded, {DATA_DIR}/postgres"},
        services=[ServiceInfo("ingest", "daemon sync (gRPC, TLS 1.3)", SYNC, "running"),
                  ServiceInfo("approvals", "approvals, internal gRPC", INTERNAL, "running"),
                  ServiceInfo("notifications", "notifications", INTERNAL, "running",
                              (OutboxLag("notifications_outbox", 42.5, 2, "LogUnavailable: Kafka away"),))],
        sync_address=SYNC, sync_cert=f"{DATA_DIR}/tls/sync-cert.pem", started_at="2026-01-01 00:00:00 UTC")


@pytest.fixture
def gateway_app(web_deps: WebDeps) -> FastAPI:
    return create_app(running_status, web=web_deps)


def _secret(text: str) -> bool:
    return DATA_DIR in text or INTERNAL in text


async def test_anonymous_callers_get_liveness_only(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as anonymous:
        status = await anonymous.get("/api/v1/status")
        landing = await anonymous.get("/")  # a fresh install: the first page, for anyone
    assert status.status_code == 200 and status.json() == {"ok": True, "version": __version__}
    assert landing.status_code == 200 and "Create the first owner" in landing.text
    assert f'cloud_url     = "https://{SYNC}"' in landing.text  # the sync address is public by nature
    assert "approvals" in landing.text and "running" in landing.text
    assert not _secret(landing.text) and not _secret(status.text)


async def test_owners_and_admins_see_how_the_installation_runs(served: str, people: People) -> None:
    owner = await people.org("acme")
    admin = await people.member(owner, Role.ADMIN)
    viewer = await people.member(owner, Role.VIEWER)
    principal = await people.principal(owner)
    _, admin_key = await people.identity.api_keys.create(owner.org.org_id, "ops", Role.ADMIN, principal)
    _, viewer_key = await people.identity.api_keys.create(owner.org.org_id, "dash", Role.VIEWER, principal)
    seen = {}
    for name, person in (("owner", owner), ("admin", admin), ("viewer", viewer)):
        async with httpx.AsyncClient(base_url=served) as browser:
            assert (await sign_in(browser, person.email, PASSWORD)).status_code == 303
            seen[name] = await browser.get("/api/v1/status")
    for name, key in (("admin key", admin_key), ("viewer key", viewer_key), ("bad key", "fmc_pk_nope")):
        async with httpx.AsyncClient(base_url=served, headers={"Authorization": f"Bearer {key}"}) as robot:
            seen[name] = await robot.get("/api/v1/status")
    full = seen["owner"].json()
    assert full["data_dir"] == DATA_DIR and {"name": "approvals", "role": "approvals, internal gRPC",
                                             "address": INTERNAL, "state": "running"} in full["services"]
    assert full["ok"] is True and full["version"] == __version__ and full["mode"] == "embedded"
    [notifications] = [s for s in full["services"] if s["name"] == "notifications"]
    assert notifications["outboxes"] == [{"table": "notifications_outbox", "oldest_unrelayed_age_s": 42.5,
                                          "parked": 2, "last_error": "LogUnavailable: Kafka away"}]  # its lag
    assert seen["admin"].json() == full and seen["admin key"].json() == full
    for name in ("viewer", "viewer key"):
        assert seen[name].json() == {"ok": True, "version": __version__}, name
    assert seen["bad key"].status_code == 401

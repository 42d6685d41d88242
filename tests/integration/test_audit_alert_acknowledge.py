"""Acknowledging a critical chain-integrity alert, over the real index (chDB + PostgreSQL) and
the real gateway: Owner, Admin and Operator may (with a note), Auditor and Viewer may not; the
form needs its CSRF token; who, when and the note are stored, shown on the chain-integrity
page (the alert stays there, marked) and written to the platform audit log; the alert leaves
Home's attention panel; another organisation's alert id is 404."""

from __future__ import annotations

import re

import httpx
import pytest

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.store import PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import index_tampered
from tests.integration.fleet_audit_support import FleetAuditIndex, fleet_audit_fixture  # noqa: F401

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


def form_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def test_operators_acknowledge_with_a_note_auditors_only_read(
        database: Database, postgres_log: PostgresLog, fleet_audit: FleetAuditIndex, people: People,
        stacks: StackStore) -> None:
    acme = await people.org("acme")
    beta = await people.org("beta")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments-prod")
    tampered = await index_tampered(database, postgres_log, fleet_audit.olap, fleet_audit.olap_database,
                                    acme.org.org_id, stack.stack_id)
    app = fleet_audit.app()
    operator = await people.member(acme, Role.OPERATOR)
    auditor = await people.member(acme, Role.AUDITOR)
    api = "/api/v1/orgs/acme/audit/alerts"

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    async with client() as reader:
        await sign_in(reader, auditor.email, PASSWORD)
        [alert] = (await reader.get(api)).json()
        assert (alert["kind"], alert["record_id"], alert["acknowledged"]) == (
            "record_hash_mismatch", tampered["record_id"], False)
        page = (await reader.get("/o/acme/audit/integrity")).text
        assert f'id="alert-{alert["alert_id"]}"' in page and "ack-form" not in page  # read-only: no form
        csrf = (await reader.get("/api/v1/me")).json()["csrf_token"]
        refused = await reader.post(f"{api}/{alert['alert_id']}/acknowledge", json={"note": "seen"},
                                    headers={"X-CSRF-Token": csrf})
        assert refused.status_code == 403 and "audit:alert:acknowledge" in refused.json()["detail"]
        refused = await reader.post(f"/o/acme/audit/integrity/alerts/{alert['alert_id']}/acknowledge",
                                    data={"csrf_token": csrf, "note": "seen"})
        assert refused.status_code == 403

    async with client() as outsider:
        await sign_in(outsider, beta.email, PASSWORD)
        csrf = (await outsider.get("/api/v1/me")).json()["csrf_token"]
        for url in (f"/api/v1/orgs/beta/audit/alerts/{alert['alert_id']}",
                    f"/api/v1/orgs/beta/audit/alerts/{alert['alert_id']}/acknowledge"):
            r = await (outsider.get(url) if not url.endswith("acknowledge") else
                       outsider.post(url, json={"note": "mine?"}, headers={"X-CSRF-Token": csrf}))
            assert r.status_code == 404, url

    async with client() as web:
        await sign_in(web, operator.email, PASSWORD)
        home = (await web.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
        assert [i for i in home if i["kind"] == "chain"]
        page = (await web.get("/o/acme/audit/integrity")).text
        form = f"/o/acme/audit/integrity/alerts/{alert['alert_id']}/acknowledge"
        assert f'action="{form}"' in page
        csrf = form_csrf(page)
        # The form without its token, and without a note, is refused; nothing is recorded.
        assert (await web.post(form, data={"note": "looked"})).status_code == 403
        empty = await web.post(form, data={"csrf_token": csrf, "note": "   "})
        assert empty.status_code == 400 and "note" in empty.text
        api_csrf = (await web.get("/api/v1/me")).json()["csrf_token"]
        blank = await web.post(f"{api}/{alert['alert_id']}/acknowledge", json={"note": "  "},
                               headers={"X-CSRF-Token": api_csrf})
        assert blank.status_code == 400
        assert (await web.get(f"{api}/{alert['alert_id']}")).json()["acknowledged"] is False

        done = await web.post(form, data={"csrf_token": csrf, "note": "edit was our <b>drill</b>"})
        assert done.status_code == 303 and done.headers["location"].startswith("/o/acme/audit/integrity?flash=")
        after = await web.get(f"{api}/{alert['alert_id']}")
        body = after.json()
        assert body["acknowledged"] is True and body["acknowledged_by"] == operator.email
        assert body["acknowledged_note"] == "edit was our <b>drill</b>" and body["acknowledged_at"]
        page = (await web.get("/o/acme/audit/integrity")).text
        row = page.split(f'id="alert-{alert["alert_id"]}"', 1)[1].split("</tr>", 1)[0]
        assert "acknowledged</span> by " + operator.email in row
        assert "edit was our &lt;b&gt;drill&lt;/b&gt;" in row and "ack-form" not in row
        # Off Home's attention panel; still listed (marked) by the API.
        home = (await web.get("/api/v1/orgs/acme/fleet/attention")).json()["items"]
        assert not [i for i in home if i["kind"] in ("chain", "alert")]
        assert (await web.get(api, params={"include_acknowledged": "false"})).json() == []
        again = await web.post(f"{api}/{alert['alert_id']}/acknowledge", json={"note": "me too"},
                               headers={"X-CSRF-Token": api_csrf})
        assert again.status_code == 409 and operator.email in again.json()["detail"]

    documented = app.openapi()["paths"]["/api/v1/orgs/{org}/audit/alerts/{alert_id}/acknowledge"]["post"]
    assert documented["requestBody"] and {"403", "404", "409"} <= documented["responses"].keys()

    [entry] = [e for e in await PlatformAuditLog(database).entries(acme.org.org_id)
               if e.action == "audit:alert:acknowledge"]
    assert (entry.actor.label, entry.target.id) == (operator.email, str(alert["alert_id"]))
    assert entry.details["note"] == "edit was our <b>drill</b>"
    assert entry.details["record_id"] == tampered["record_id"]

"""Compliance through the gateway (httpx over ASGI, real PostgreSQL, the compliance service's
API): every ``/api/v1/orgs/{org}/compliance`` route with the Compliance pages' permissions
(Owner/Admin/Operator all; Auditor reads, downloads and shares; Viewer nothing: 403 and no
navigation entry), role-scoped API keys, another organisation's ids 404, and the public share
page ``/share/{token}``: no session, noindex, no referrer, the download with its SHA-256, the
platform keys, every access in the platform audit log with the client's address and
User-Agent, 410 once expired or revoked (saying which and when), 404 for an unknown token."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from faramesh_cloud.compliance.domain import ReportView, framework_names
from faramesh_cloud.compliance.jobs import MadeReport, Progress, ReportJobs
from faramesh_cloud.gateway.web.compliance_ports import CompliancePort
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.platform_audit.events import Actor, ActorType
from faramesh_cloud.platform_audit.store import AuditFilter, PlatformAuditLog
from faramesh_cloud.sql.database import Database
from faramesh_cloud.sql.tenant import tenant_transaction
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient, MovableClock, csrf_of, sign_in
from tests.fixtures.identity import People, Person

pytestmark = [pytest.mark.postgres, pytest.mark.integration]
BASE = "/api/v1/orgs/acme/compliance"
START, END = "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z"
BUNDLE = b'{"format": "faramesh-cloud/signed-bundle/v1", "entries": []}\n'


async def signed_in(client_factory: MakeClient, person: Person) -> httpx.AsyncClient:
    client = client_factory()
    response = await sign_in(client, person.email, person.password)
    assert response.status_code in (302, 303), response.text[:300]
    return client


async def api_csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": (await client.get("/api/v1/me")).json()["csrf_token"]}


async def key_client(client_factory: MakeClient, people: People, owner: Person, role: Role) -> httpx.AsyncClient:
    _, key = await people.identity.api_keys.create(owner.org.org_id, f"ci-{role.value}", role,
                                                   await people.principal(owner))
    return client_factory(headers={"Authorization": f"Bearer {key}"})


async def artifact(port: CompliancePort, person: Person, data: bytes = BUNDLE) -> Any:
    return await port.add_artifact(person.org.org_id, "dpr-export", "Denied calls in May", {"effect": "DENY"},
                                   actor=Actor(ActorType.USER, person.user.user_id, person.email, "10.0.0.1"),
                                   data=data, filename="dpr-export-acme.json", media_type="application/json")


class Failing:
    """A report maker whose PDF cannot be made (what a person then sees: why, and Retry)."""

    async def make(self, org_id: str, report: ReportView, scratch: Path, progress: Progress) -> MadeReport:
        await progress(0.4, "exporting the range")
        raise RuntimeError("the audit index did not answer")


async def test_owner_declares_frameworks_requests_retries_and_lists_reports_with_an_api_key(
        client_factory: MakeClient, people: People, stacks: StackStore, compliance_port: CompliancePort,
        database: Database) -> None:
    owner = await people.org("acme")
    stack, _ = await stacks.register_stack(owner.org.org_id, "payments-prod", "prod")
    api = await key_client(client_factory, people, owner, Role.OWNER)

    unknown = await api.put(f"{BASE}/frameworks", json={"frameworks": ["soc2", "sox"]})
    assert unknown.status_code == 400 and "'sox'" in unknown.json()["detail"]
    declared = await api.put(f"{BASE}/frameworks", json={"frameworks": ["soc2", "gdpr"]})
    assert declared.status_code == 200 and [d["framework"] for d in declared.json()] == ["gdpr", "soc2"]
    assert [d["name"] for d in (await api.get(f"{BASE}/frameworks")).json()] == ["GDPR", "SOC 2"]
    assert (await api.get(f"{BASE}/posture")).json() == []
    assert (await api.get(f"{BASE}/posture/history", params={"framework": "nist"})).status_code == 400

    bad = await api.post(f"{BASE}/reports", json={"framework": "nist", "start": START, "end": END})
    assert bad.status_code == 400 and "'nist'" in bad.json()["detail"]
    ghost = "8d4e6b7a-0000-4000-8000-000000000000"
    bad = await api.post(f"{BASE}/reports", json={"framework": "soc2", "stack_ids": [ghost], "start": START,
                                                  "end": END})
    assert bad.status_code == 400 and ghost in bad.json()["detail"]
    naive = await api.post(f"{BASE}/reports", json={"framework": "soc2", "start": "2026-05-01T00:00:00",
                                                    "end": END})
    assert naive.status_code == 422
    made = await api.post(f"{BASE}/reports", json={"framework": "soc2", "stack_ids": [stack.stack_id],
                                                   "start": START, "end": END})
    assert made.status_code == 202, made.text
    report = made.json()
    assert report["state"] == "queued" and report["stack_ids"] == [stack.stack_id]
    not_failed = await api.post(f"{BASE}/reports/{report['report_id']}/retry")
    assert not_failed.status_code == 400 and "only a failed report" in not_failed.json()["detail"]

    # The job fails: the report says why, and a retry queues a new one pointing back to it.
    jobs = ReportJobs(database, compliance_port, Failing())  # type: ignore[arg-type]
    assert await jobs.run_once()
    failed = (await api.get(f"{BASE}/reports/{report['report_id']}")).json()
    assert failed["state"] == "failed" and "the audit index did not answer" in failed["error"]
    assert failed["artifact_id"] is None
    again = await api.post(f"{BASE}/reports/{report['report_id']}/retry")
    assert again.status_code == 202 and again.json()["retry_of"] == report["report_id"]
    listed = (await api.get(f"{BASE}/reports")).json()
    assert [r["state"] for r in listed] == ["queued", "failed"]
    assert (await api.get(f"{BASE}/reports/{ghost}")).status_code == 404
    assert (await api.get(f"{BASE}/reports/not-a-uuid")).status_code == 404


async def test_the_library_downloads_streamed_bytes_and_share_links_open_without_a_session_until_revoked(
        client_factory: MakeClient, people: People, compliance_port: CompliancePort, database: Database) -> None:
    owner = await people.org("acme", "Acme Payments")
    made = await artifact(compliance_port, owner)
    owner_client = await signed_in(client_factory, owner)
    library = (await owner_client.get(f"{BASE}/library")).json()
    assert [a["artifact_id"] for a in library] == [made.artifact_id]
    assert library[0]["sha256"] == hashlib.sha256(BUNDLE).hexdigest() and library[0]["size"] == len(BUNDLE)
    assert library[0]["parameters"] == {"effect": "DENY"} and library[0]["share_links"] == []
    got = await owner_client.get(f"{BASE}/artifacts/{made.artifact_id}/download")
    assert got.status_code == 200 and got.content == BUNDLE
    assert 'filename="dpr-export-acme.json"' in got.headers["content-disposition"]

    no_csrf = await owner_client.post(f"{BASE}/artifacts/{made.artifact_id}/shares", json={})
    assert no_csrf.status_code == 403
    headers = await api_csrf(owner_client)
    too_long = await owner_client.post(f"{BASE}/artifacts/{made.artifact_id}/shares", headers=headers,
                                       json={"days": 91})
    assert too_long.status_code == 422
    shared = await owner_client.post(f"{BASE}/artifacts/{made.artifact_id}/shares", headers=headers,
                                     json={"note": "Audit firm LLP"})
    assert shared.status_code == 201, shared.text
    link = shared.json()
    token = link["token"]
    assert token.startswith("fmc_sh_") and link["url"].endswith(f"/share/{token}") and link["state"] == "active"
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    again = (await owner_client.get(f"{BASE}/artifacts/{made.artifact_id}")).json()
    assert token not in str(again) and again["share_links"][0]["note"] == "Audit firm LLP"

    auditor = client_factory(headers={"User-Agent": "AuditorBrowser/2.0"})  # no session, no cookie
    page = await auditor.get(f"/share/{token}")
    assert page.status_code == 200, page.text[:300]
    assert page.headers["x-robots-tag"].startswith("noindex") and page.headers["referrer-policy"] == "no-referrer"
    assert "Acme Payments" in page.text and hashlib.sha256(BUNDLE).hexdigest() in page.text
    assert "faramesh-cloud verify-bundle" in page.text and 'href="/o/' not in page.text  # no navigation
    key = await auditor.get(f"/share/{token}/keys/platform-ed25519.pub.pem")
    assert key.status_code == 200 and key.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert (await auditor.get(f"/share/{token}/keys/platform-ed25519.pem")).status_code == 404  # never the private
    download = await auditor.get(f"/share/{token}/download")
    assert download.status_code == 200 and download.content == BUNDLE
    assert download.headers["referrer-policy"] == "no-referrer"
    entries = [e for e in await PlatformAuditLog(database).page(owner.org.org_id, AuditFilter(), limit=100)
               if e.action == "compliance:share:accessed"]
    assert len(entries) == 4 and {e.details["ip"] for e in entries} == {"203.0.113.7"}
    assert {e.details["user_agent"] for e in entries} == {"AuditorBrowser/2.0"}

    assert (await auditor.get("/share/fmc_sh_" + "x" * 43)).status_code == 404
    assert (await auditor.get("/share/" + "a" * 5000)).status_code == 404
    revoked = await owner_client.delete(f"{BASE}/shares/{link['link_id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    gone = await auditor.get(f"/share/{token}")
    assert gone.status_code == 410 and "revoked on" in gone.text
    assert (await auditor.get(f"/share/{token}/download")).status_code == 410


async def test_an_expired_link_is_410_saying_when(client_factory: MakeClient, people: People,
                                                  compliance_port: CompliancePort,
                                                  compliance_clock: MovableClock) -> None:
    owner = await people.org("acme")
    made = await artifact(compliance_port, owner)
    compliance_clock.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    api = await key_client(client_factory, people, owner, Role.OWNER)
    shared = (await api.post(f"{BASE}/artifacts/{made.artifact_id}/shares", json={"days": 2})).json()
    visitor = client_factory()
    assert (await visitor.get(f"/share/{shared['token']}")).status_code == 200
    compliance_clock.now = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    gone = await visitor.get(f"/share/{shared['token']}")
    assert gone.status_code == 410 and "expired on 2026-03-03 12:00 UTC" in gone.text
    assert gone.headers["x-robots-tag"].startswith("noindex")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.AUDITOR, Role.VIEWER])
async def test_roles_get_what_the_members_table_gives_them(
        client_factory: MakeClient, people: People, compliance_port: CompliancePort, role: Role) -> None:
    owner = await people.org("acme")
    made = await artifact(compliance_port, owner)
    client = await signed_in(client_factory, await people.member(owner, role))
    headers = await api_csrf(client)
    reads = [await client.get(f"{BASE}/{path}") for path in (
        "frameworks", "posture", "posture/history?framework=soc2", "reports", "library",
        f"artifacts/{made.artifact_id}")]
    download = await client.get(f"{BASE}/artifacts/{made.artifact_id}/download")
    share = await client.post(f"{BASE}/artifacts/{made.artifact_id}/shares", headers=headers, json={})
    generate = await client.post(f"{BASE}/reports", headers=headers,
                                 json={"framework": "soc2", "start": START, "end": END})
    declare = await client.put(f"{BASE}/frameworks", headers=headers, json={"frameworks": ["soc2"]})
    nav = await client.get("/o/acme/")
    codes = {"read": {r.status_code for r in reads}, "download": download.status_code,
             "share": share.status_code, "generate": generate.status_code, "declare": declare.status_code,
             "nav": "/o/acme/compliance" in nav.text}
    expected = {
        Role.ADMIN: {"read": {200}, "download": 200, "share": 201, "generate": 202, "declare": 200, "nav": True},
        Role.OPERATOR: {"read": {200}, "download": 200, "share": 201, "generate": 202, "declare": 403,
                        "nav": True},
        Role.AUDITOR: {"read": {200}, "download": 200, "share": 201, "generate": 403, "declare": 403, "nav": True},
        Role.VIEWER: {"read": {403}, "download": 403, "share": 403, "generate": 403, "declare": 403, "nav": False},
    }[role]
    assert codes == expected
    if role is Role.VIEWER:
        assert (await client.get("/o/acme/compliance")).status_code == 403
        assert (await client.get("/o/acme/compliance/library")).status_code == 403
    if role is Role.AUDITOR:
        revoke = await client.delete(f"{BASE}/shares/{share.json()['link_id']}", headers=headers)
        assert revoke.status_code == 200 and revoke.json()["state"] == "revoked"


async def test_an_auditor_api_key_shares_but_cannot_generate(client_factory: MakeClient, people: People,
                                                            compliance_port: CompliancePort) -> None:
    owner = await people.org("acme")
    made = await artifact(compliance_port, owner)
    ci = await key_client(client_factory, people, owner, Role.AUDITOR)
    assert (await ci.post(f"{BASE}/artifacts/{made.artifact_id}/shares", json={"days": 3})).status_code == 201
    assert (await ci.post(f"{BASE}/reports", json={"framework": "soc2", "start": START,
                                                   "end": END})).status_code == 403


async def test_another_organisations_ids_are_404(client_factory: MakeClient, people: People,
                                                 compliance_port: CompliancePort) -> None:
    acme = await people.org("acme")
    globex = await people.org("globex")
    made = await artifact(compliance_port, acme)
    acme_api = await key_client(client_factory, people, acme, Role.OWNER)
    report = (await acme_api.post(f"{BASE}/reports", json={"framework": "soc2", "start": START,
                                                           "end": END})).json()
    link = (await acme_api.post(f"{BASE}/artifacts/{made.artifact_id}/shares", json={})).json()
    other = await key_client(client_factory, people, globex, Role.OWNER)
    theirs = "/api/v1/orgs/globex/compliance"
    answers = [
        await other.get(f"{theirs}/artifacts/{made.artifact_id}"),
        await other.get(f"{theirs}/artifacts/{made.artifact_id}/download"),
        await other.post(f"{theirs}/artifacts/{made.artifact_id}/shares", json={}),
        await other.get(f"{theirs}/reports/{report['report_id']}"),
        await other.post(f"{theirs}/reports/{report['report_id']}/retry"),
        await other.delete(f"{theirs}/shares/{link['link_id']}"),
        await other.get(f"{BASE}/library"),  # acme's, with globex's key
    ]
    assert [a.status_code for a in answers] == [404] * 7
    assert (await other.get(f"{theirs}/library")).json() == []


async def test_the_pages_show_posture_reports_and_the_library(
        client_factory: MakeClient, people: People, compliance_port: CompliancePort, database: Database) -> None:
    owner = await people.org("acme")
    org = owner.org.org_id
    client = await signed_in(client_factory, owner)
    empty = await client.get("/o/acme/compliance")
    assert empty.status_code == 200 and 'id="no-frameworks"' in empty.text
    declared = await client.post("/o/acme/compliance/frameworks", data={
        "csrf_token": csrf_of(empty.text), "framework": ["hipaa", "soc2"]})
    assert declared.status_code == 303
    # What the posture sweep stores (the service's rows), read back as a person sees them.
    stack, _ = await StackStore(database).register_stack(org, "payments-prod", "prod")
    today = datetime.now(UTC).date()
    detail = {"title": "Audit controls", "citation": "45 CFR 164.312(b)",
              "evidence": [{"words": "verified DPRs recorded", "count": 1234, "start": "2026-05-01T00:00:00Z",
                            "end": "2026-05-31T00:00:00Z", "audit_query": "verification=verified"}],
              "policy": [{"words": "unmatched calls are denied", "holds": True,
                          "stacks": [{"stack_id": stack.stack_id, "holds": True, "lines": [3, 4]},
                                     {"stack_id": "b2c1a7e4-0000-4000-8000-00000000dead", "holds": False,
                                      "lines": [9]}]}]}
    async with tenant_transaction(database, org) as conn:
        for control, status in (("164.312(b)", "evidence"), ("164.308(a)(1)", "gap")):
            await conn.execute("INSERT INTO compliance_posture VALUES (%s, 'hipaa', %s, %s, %s, now(), now())",
                               (org, control, status, __import__("json").dumps(detail if status == "evidence"
                                                                                else {})))
        for back, gaps in ((2, []), (1, ["164.308(a)(1)"]), (0, ["164.308(a)(1)"])):
            day = today - timedelta(days=back)
            await conn.execute("INSERT INTO compliance_posture_days VALUES (%s, 'hipaa', %s, '164.312(b)', "
                               "'evidence')", (org, day))
            status = "gap" if gaps else "policy"
            await conn.execute("INSERT INTO compliance_posture_days VALUES (%s, 'hipaa', %s, '164.308(a)(1)', %s)",
                               (org, day, status))
    page = await client.get("/o/acme/compliance")
    assert page.status_code == 200
    assert "HIPAA Security Rule" in page.text and "verified DPRs recorded" in page.text and "1234" in page.text
    assert 'href="/o/acme/audit?verification=verified&amp;since=2026-05-01T00%3A00%3A00Z' in page.text
    assert "governance.fms lines 3, 4" in page.text and "payments-prod" in page.text
    assert "holds on 1 of 1 stack" in page.text and "dead" not in page.text  # a stack not this member's: not named
    opened = (today - timedelta(days=1)).isoformat()
    assert f'class="gap-opened" data-day="{opened}"' in page.text and "gap opened: 164.308(a)(1)" in page.text
    assert page.text.count('class="gap-opened"') == 1  # the gap opened once, and stayed open
    history = (await client.get(f"{BASE}/posture/history", params={"framework": "hipaa"})).json()
    assert [(d["evidence"], d["policy"], d["gap"]) for d in history] == [(1, 1, 0), (1, 0, 1), (1, 0, 1)]

    reports = await client.get("/o/acme/compliance/reports")
    queued = await client.post("/o/acme/compliance/reports", data={
        "csrf_token": csrf_of(reports.text), "framework": "hipaa", "since": "2026-05-01T00:00",
        "until": "2026-06-01T00:00"})
    assert queued.status_code == 303
    listed = await client.get("/o/acme/compliance/reports")
    assert 'data-state="queued"' in listed.text and "/static/compliance_reports.js" in listed.text
    backwards = await client.post("/o/acme/compliance/reports", data={
        "csrf_token": csrf_of(listed.text), "framework": "hipaa", "since": "2026-06-01T00:00",
        "until": "2026-05-01T00:00"})
    assert backwards.status_code == 400 and "ends before it starts" in backwards.text
    script = await client.get("/static/compliance_reports.js")
    assert script.status_code == 200 and "data-poll" in script.text

    made = await artifact(compliance_port, owner)
    library = await client.get("/o/acme/compliance/library")
    assert made.sha256 in library.text and "effect=DENY" in library.text
    shared = await client.post(f"/o/acme/compliance/artifacts/{made.artifact_id}/shares", data={
        "csrf_token": csrf_of(library.text), "days": "3", "note": "for the auditors"})
    assert shared.status_code == 200 and 'id="share-url"' in shared.text
    shown = shared.text.split('id="share-url" class="wrap-any">', 1)[1].split("<", 1)[0]
    assert "/share/fmc_sh_" in shown
    again = await client.get("/o/acme/compliance/library")
    assert shown.rsplit("/", 1)[1] not in again.text and 'data-state="active"' in again.text

    settings = await client.get("/o/acme/settings/organization")
    assert 'id="frameworks-form"' in settings.text and 'value="hipaa" checked' in settings.text
    # every framework the service accepts, as its port names them (the gateway keeps no copy)
    offered = re.findall(r'name="framework" value="([^"]+)"', settings.text)
    assert offered == [slug for slug, _ in await compliance_port.frameworks()] == list(framework_names())
    assert all(name in settings.text for _, name in await compliance_port.frameworks())


async def test_the_openapi_document_lists_every_compliance_route(client_factory: MakeClient) -> None:
    document = (await client_factory().get("/api/v1/openapi.json")).json()
    paths = {p: set(item) for p, item in document["paths"].items() if "/compliance" in p}
    assert paths == {
        "/api/v1/orgs/{org}/compliance/frameworks": {"get", "put"},
        "/api/v1/orgs/{org}/compliance/posture": {"get"},
        "/api/v1/orgs/{org}/compliance/posture/history": {"get"},
        "/api/v1/orgs/{org}/compliance/reports": {"get", "post"},
        "/api/v1/orgs/{org}/compliance/reports/{report_id}": {"get"},
        "/api/v1/orgs/{org}/compliance/reports/{report_id}/retry": {"post"},
        "/api/v1/orgs/{org}/compliance/library": {"get"},
        "/api/v1/orgs/{org}/compliance/artifacts/{artifact_id}": {"get"},
        "/api/v1/orgs/{org}/compliance/artifacts/{artifact_id}/download": {"get"},
        "/api/v1/orgs/{org}/compliance/artifacts/{artifact_id}/shares": {"post"},
        "/api/v1/orgs/{org}/compliance/shares/{link_id}": {"delete"},
        "/api/v1/orgs/{org}/compliance/coverage": {"get"},
        "/api/v1/orgs/{org}/compliance/coverage/gap": {"get"},
        "/api/v1/orgs/{org}/compliance/certificates": {"post"},
    }
    assert not [p for p in document["paths"] if p.startswith("/share")]


async def test_the_share_page_offers_the_document_certificate_but_never_a_private_key(
        client_factory: MakeClient, people: People, compliance_port: CompliancePort, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Faramesh Cloud document signing")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256()))
    keys = tmp_path / "keys"  # the gateway fixture's <data_dir>/keys (the signing key is there already)
    (keys / "platform-document-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (keys / "platform-document-p256.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    owner = await people.org("acme")
    made = await compliance_port.add_artifact(
        owner.org.org_id, "report", "SOC 2 report", {}, data=b"%PDF-1.7\n", filename="r.pdf",
        media_type="application/pdf", actor=Actor(ActorType.USER, owner.user.user_id, owner.email, ""))
    _, token = await compliance_port.share(owner.org.org_id, made.artifact_id,
                                           Actor(ActorType.USER, owner.user.user_id, owner.email, ""))
    visitor = client_factory()
    page = (await visitor.get(f"/share/{token}")).text
    assert "platform-document-cert.pem" in page and "--certificate platform-document-cert.pem" in page
    assert "platform-document-p256.pem" not in page and "platform-ed25519.pem<" not in page
    got = await visitor.get(f"/share/{token}/keys/platform-document-cert.pem")
    assert got.status_code == 200 and x509.load_pem_x509_certificate(got.content).subject == name
    assert (await visitor.get(f"/share/{token}/keys/platform-document-p256.pem")).status_code == 404

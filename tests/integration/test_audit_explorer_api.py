"""The DPR explorer's REST API and pages over the real index: search with filters, keyset
pages and counts; explain and server-side verify; session timeline; chain integrity; the
SSE live stream; a signed export checked by `faramesh-cloud verify-bundle`; permissions;
hostile args rendered as text."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from faramesh_cloud.audit_index.reader import IndexReader
from faramesh_cloud.audit_index.schema import AuditTables
from faramesh_cloud.cli.verify_bundle import verify_bundle
from faramesh_cloud.gateway.app import create_app
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.port import Olap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in, static_status
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_explorer_support import (
    XSS,
    explorer_deps,
    index_fleet,
    index_tampered,
)

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]


@pytest.fixture
def explorer_app(identity: Identity, stacks: StackStore, database: Database, chdb: Olap,
                 olap_database: str, tmp_path: Path) -> FastAPI:
    return create_app(static_status, web=explorer_deps(identity, stacks, database, chdb, olap_database, tmp_path))


@pytest.fixture
def client(explorer_app: FastAPI):  # type: ignore[no-untyped-def]
    def make(**kwargs: object) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=explorer_app), base_url="http://testserver",
                                 **kwargs)  # type: ignore[arg-type]
    return make


async def _served_stream(web: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None,
                         **params: str) -> httpx.Response:
    """One short ``/stream`` read that the organisation's live feed served. A stream whose
    feed is not ready (its first reads of the index) within the stream's lifetime ends with
    no event and no ``: live`` line; under load that takes longer than a short lifetime, so
    read again, each time allowing longer, until one is served (60 s at most in all)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 60
    seconds = 0.1
    while True:
        r = await web.get(url, params={**params, "max_seconds": seconds}, headers=headers or {})
        assert r.status_code == 200, r.text
        if "event: dpr" in r.text or "\n: live\n" in r.text:
            return r
        assert loop.time() < give_up, f"the live feed served no stream within 60 s: {r.text!r}"
        seconds = min(seconds * 2, 5.0)


async def test_search_explain_verify_session_integrity_stream_export(
        client, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,  # type: ignore[no-untyped-def]
        chdb: Olap, olap_database: str, tmp_path: Path) -> None:
    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments")
    pushed = await index_fleet(database, postgres_log, chdb, olap_database, acme.org.org_id, stack.stack_id)
    auditor = await people.member(acme, Role.AUDITOR)
    async with client() as web:
        await sign_in(web, auditor.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"

        # Search: keyset pages cover every record exactly once, newest first; counts add up.
        seen, cursor = [], None
        while True:
            r = await web.get(f"{base}/records", params={"limit": 7, **({"cursor": cursor} if cursor else {})})
            assert r.status_code == 200, r.text
            body = r.json()
            seen += body["records"]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert sorted(x["record_id"] for x in seen) == sorted(p["record_id"] for p in pushed.records)
        assert [x["created_ns"] for x in seen] == sorted((x["created_ns"] for x in seen), reverse=True)
        assert sum(body["counts_by_effect"].values()) == len(pushed.records)

        # Every filter narrows to exactly the matching records.
        agent = pushed.writers[1].agent_id
        deny = [p for p in pushed.records if p["effect"] == "DENY"]
        shared = [p for p in pushed.records if p["session_id"] == "shared"]
        for params, expected in (
            ({"agent": agent}, [p for p in pushed.records if p["agent_id"] == agent]),
            ({"effect": "DENY"}, deny),
            ({"tool": "web/search"}, [pushed.xss]),
            ({"rule": pushed.records[0]["matched_rule_id"]},
             [p for p in pushed.records if p["matched_rule_id"] == pushed.records[0]["matched_rule_id"]]),
            ({"stack": stack.stack_id, "session": "shared", "action_type": "tool_call"}, shared),
            ({"until": "2026-05-28T00:00:00Z"}, []),
        ):
            r = await web.get(f"{base}/records", params={**params, "limit": 1000})
            assert r.status_code == 200, (params, r.text)
            assert {x["record_id"] for x in r.json()["records"]} == {p["record_id"] for p in expected}, params
        counts = (await web.get(f"{base}/counts", params={"effect": "DENY"})).json()
        assert counts == ({"DENY": len(deny)} if deny else {})
        assert (await web.get(f"{base}/records", params={"cursor": "bogus"})).status_code == 400
        assert (await web.get(f"{base}/records", params={"since": "yesterday"})).status_code == 400

        # Explain + verify: neighbours on the agent's chain, every check passes.
        middle = [p for p in pushed.records if p["agent_id"] == agent][2]
        r = await web.get(f"{base}/records/{middle['record_id']}")
        assert r.status_code == 200
        copy = r.json()["copies"][0]
        assert copy["previous"]["record_hash"] == middle["prev_record_hash"]
        assert copy["next"] is not None and copy["chain_index"] == 2
        assert copy["record"]["selector_snapshot"] == middle["selector_snapshot"]
        r = await web.post(f"{base}/records/{middle['record_id']}/verify",
                           headers={"X-CSRF-Token": (await web.get("/api/v1/me")).json()["csrf_token"]})
        assert r.status_code == 200
        checks = {k["name"]: k["ok"] for k in r.json()["copies"][0]["checks"]}
        assert checks["hash"] is True and checks["link"] is True and checks["next"] is True
        assert checks["signature"] in (True, None) and r.json()["ok"] is True
        assert (await web.get(f"{base}/records/no-such-record")).status_code == 404

        # Session explorer: every agent of the session, oldest first.
        r = await web.get(f"{base}/sessions/shared")
        timeline = r.json()
        assert [x["created_ns"] for x in timeline["records"]] == sorted(x["created_ns"] for x in timeline["records"])
        assert {x["record_id"] for x in timeline["records"]} == {p["record_id"] for p in shared}
        assert timeline["agents"] == sorted({p["agent_id"] for p in shared}) and len(timeline["agents"]) == 3

        # Chain integrity: one stack, every record on a chain, no findings.
        (integrity,) = (await web.get(f"{base}/integrity/{stack.stack_id}")).json()
        assert integrity["chain_length"] == len(pushed.records) and integrity["intact"] is True

        # Live stream: the backlog then an end event after the bounded lifetime.
        r = await _served_stream(web, f"{base}/stream", effect="DENY")
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
        assert {e["record_id"] for e in events[:-1]} == {p["record_id"] for p in deny}
        assert "cursor" in events[-1]

        # The REST twin is documented.
        documented = (await web.get("/api/v1/openapi.json")).json()["paths"]
        for path in ("/records", "/records/{record_id}", "/records/{record_id}/verify", "/counts", "/export",
                     "/sessions/{session_id}", "/integrity", "/integrity/{stack_id}", "/stream", "/alerts",
                     "/alerts/{alert_id}", "/alerts/{alert_id}/acknowledge"):
            assert f"/api/v1/orgs/{{org}}/audit{path}" in documented, path

        # Pages render, the hostile args as text.
        html = (await web.get(f"/o/{acme.org.slug}/audit/records/{pushed.xss['record_id']}")).text
        assert XSS not in html and "&lt;script&gt;alert(" in html
        assert re.search(r"selector_snapshot <span[^>]*>\(not hashed\)", html)
        assert re.search(r"effect <span[^>]*>#</span>", html)
        for path in ("/audit", "/audit/live", "/audit/sessions/shared", "/audit/integrity",
                     f"/audit/integrity/{stack.stack_id}", "/audit?effect=DENY&limit=2"):
            assert (await web.get(f"/o/{acme.org.slug}{path}")).status_code == 200, path
        assert 'href="/o/acme/audit"' in html

        # Export: a signed bundle the offline verifier accepts; tampering is caught.
        r = await web.get(f"{base}/export", params={"agent": agent})
        assert r.status_code == 200
        bundle = r.json()
        assert bundle["kind"] == "dpr-search-export"
        assert len(bundle["entries"]) == len([p for p in pushed.records if p["agent_id"] == agent])
        key = (await web.get("/api/v1/platform/signing-key", params={"format": "pem"})).text
    (tmp_path / "key.pem").write_text(key)
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    runner = CliRunner()
    ok = runner.invoke(verify_bundle, [str(tmp_path / "b.json"), "--public-key", str(tmp_path / "key.pem"), "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["ok"] and f"{len(bundle['entries']) - 1} chain links" in report["notes"][0]
    tampered = json.loads(json.dumps(bundle))
    tampered["entries"][1]["raw"] = tampered["entries"][1]["raw"].replace('"effect":"', '"effect":"X')
    (tmp_path / "t.json").write_text(json.dumps(tampered))
    bad = runner.invoke(verify_bundle, [str(tmp_path / "t.json"), "--public-key", str(tmp_path / "key.pem"), "--json"])
    assert bad.exit_code == 1
    problems = json.loads(bad.output)["problems"]
    assert any("signature" in p for p in problems) and any("hash mismatch" in p for p in problems)


async def test_viewer_has_no_audit_and_another_org_gets_404(
        client, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,  # type: ignore[no-untyped-def]
        chdb: Olap, olap_database: str, explorer_app: FastAPI, identity: Identity) -> None:
    from tests.integration.test_tenant_isolation import id_bearing_routes

    acme = await people.org("acme")
    beta = await people.org("beta")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments")
    pushed = await index_fleet(database, postgres_log, chdb, olap_database, acme.org.org_id, stack.stack_id,
                               count=6)
    await index_tampered(database, postgres_log, chdb, olap_database, acme.org.org_id, stack.stack_id)
    [alert] = await IndexReader(chdb, database, AuditTables(olap_database)).alerts(acme.org.org_id)
    viewer = await people.member(acme, Role.VIEWER)
    values = {"org": acme.org.slug, "record_id": pushed.records[0]["record_id"], "session_id": "shared",
              "stack_id": stack.stack_id, "alert_id": str(alert.alert_id)}
    routes = [(m, p, params) for m, p, params in id_bearing_routes(explorer_app)
              if "/audit/" in p or p.endswith("/audit")]
    assert len(routes) >= 15
    async with client() as owner, client() as outsider, client() as weak:
        await sign_in(owner, acme.email, PASSWORD)
        await sign_in(outsider, beta.email, PASSWORD)
        await sign_in(weak, viewer.email, PASSWORD)
        csrf = {c: (await c.get("/api/v1/me")).json()["csrf_token"] for c in (owner, outsider, weak)}

        async def call(c: httpx.AsyncClient, method: str, url: str) -> httpx.Response:
            extra = {"params": {"max_seconds": 0.1}} if url.endswith(("/stream", "/events")) else {}
            if method == "POST" and url.startswith("/api/"):
                return await c.post(url, headers={"X-CSRF-Token": csrf[c]}, json={"note": "route walk"})
            if method == "POST":
                return await c.post(url, headers={"X-CSRF-Token": csrf[c]},
                                    data={"csrf_token": csrf[c], "note": "route walk"})
            return await c.get(url, **extra)

        leaks, answered, viewer_ok = [], [], []
        for method, path, params in routes:
            # Only A's slug for org-only URLs (B's own pages are B's); with A's ids, both slugs.
            for slug in [acme.org.slug] if params == {"org"} else [acme.org.slug, beta.org.slug]:
                url = path.format(**{**values, "org": slug})
                r = await call(outsider, method, url)
                if r.status_code != 404:
                    leaks.append((method, url, r.status_code))
            url = path.format(**values)
            answered.append((method, url, (await call(owner, method, url)).status_code))
            r = await call(weak, method, url)
            if r.status_code != 403:
                viewer_ok.append((method, url, r.status_code))
        assert not leaks, leaks
        # Acknowledging happens once: the page's form redirects back (303), its REST twin,
        # walked after it, is then told it was acknowledged already (409).
        once = {("POST", f"/o/{acme.org.slug}/audit/integrity/alerts/{alert.alert_id}/acknowledge"): 303,
                ("POST", f"/api/v1/orgs/{acme.org.slug}/audit/alerts/{alert.alert_id}/acknowledge"): 409}
        assert all(code == once.get((method, url), 200) for method, url, code in answered), answered
        assert {(m, u) for m, u, _ in answered} >= once.keys()
        assert not viewer_ok, viewer_ok
        home = (await weak.get(f"/o/{acme.org.slug}/")).text
        assert f'href="/o/{acme.org.slug}/audit"' not in home

    # An operator whose role on this stack is overridden to none sees none of its records.
    fenced = await people.member(acme, Role.OPERATOR)
    await identity.members.set_stack_role(acme.org.org_id, fenced.user.user_id, stack.stack_id, StackRole.NONE,
                                          await people.principal(acme))
    async with client() as c:
        await sign_in(c, fenced.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"
        assert (await c.get(f"{base}/records")).json()["records"] == []
        assert (await c.get(f"{base}/counts")).json() == {}
        assert (await c.get(f"{base}/records/{values['record_id']}")).status_code == 404
        assert (await c.get(f"{base}/records", params={"stack": stack.stack_id})).status_code == 404
        assert (await c.get(f"/o/{acme.org.slug}/audit/sessions/shared")).status_code == 404


async def test_a_tampered_record_fails_verify_and_is_a_linked_finding(
        client, people: People, stacks: StackStore, database: Database, postgres_log: PostgresLog,  # type: ignore[no-untyped-def]
        chdb: Olap, olap_database: str) -> None:
    from tests.integration.audit_support import fast_config, fleet, publish, records, run_index

    acme = await people.org("acme")
    stack, _ = await stacks.register_stack(acme.org.org_id, "payments")
    writers = fleet(stack.stack_id, 1, ["s"], seed=3)
    pushed = records(writers, 5)
    tampered = {**pushed[2], "matched_rule_id": "rule-edited"}  # record_hash left as the daemon wrote it
    await publish(postgres_log, acme.org.org_id, stack.stack_id, [*pushed[:2], tampered, *pushed[3:]])
    await run_index(database, postgres_log, chdb, fast_config(olap_database), len(pushed))
    async with client() as web:
        await sign_in(web, acme.email, PASSWORD)
        csrf = (await web.get("/api/v1/me")).json()["csrf_token"]
        base = f"/api/v1/orgs/{acme.org.slug}/audit"
        r = await web.post(f"{base}/records/{tampered['record_id']}/verify", headers={"X-CSRF-Token": csrf})
        checks = {k["name"]: k for k in r.json()["copies"][0]["checks"]}
        assert checks["hash"]["ok"] is False and tampered["record_hash"] in checks["hash"]["message"]
        assert r.json()["ok"] is False
        # Its neighbour still verifies: the link is by hash, and the stored hash is the daemon's.
        r = await web.post(f"{base}/records/{pushed[3]['record_id']}/verify", headers={"X-CSRF-Token": csrf})
        assert {k["name"]: k["ok"] for k in r.json()["copies"][0]["checks"]}["hash"] is True
        (integrity,) = (await web.get(f"{base}/integrity")).json()
        assert integrity["intact"] is False
        findings = [f for a in integrity["agents"] for f in a["findings"]]
        assert {f["record_id"] for f in findings if f["severity"] == "critical"} == {tampered["record_id"]}
        assert "record_hash_mismatch" in {f["kind"] for f in findings}
        html = (await web.get(f"/o/{acme.org.slug}/audit/integrity")).text
        assert f'href="/o/{acme.org.slug}/audit/records/{tampered["record_id"]}"' in html

        # The live stream resumes from an event id: after the end cursor, nothing old comes again.
        text = (await _served_stream(web, f"{base}/stream")).text
        end = [line for line in text.splitlines() if line.startswith("data: ")][-1]
        cursor = json.loads(end[6:])["cursor"]
        assert len([line for line in text.splitlines() if line.startswith("event: dpr")]) == len(pushed)
        text = (await _served_stream(web, f"{base}/stream", {"Last-Event-ID": cursor})).text
        assert "event: dpr" not in text and "event: end" in text
        assert (await web.get(f"{base}/stream", params={"after": "forged"})).status_code == 400

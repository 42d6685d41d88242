"""Decisions from the legacy Horizon feed and daemon webhooks are found: posted over HTTP to
the gateway's /v1 routes in the daemon's wire format, consumed from decisions.legacy.v1 by the
audit index (its own consumer group), and read back through search (REST and page), counts,
Explain, Verify, the session timeline, the live stream, Home's activity and the agent page,
each marked unverified with its source. Never part of a chain; never visible to another org."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_support import BASE_NS, fleet, records
from tests.integration.fleet_audit_support import fleet_audit_fixture  # noqa: F401
from tests.integration.legacy_search_support import (
    Cloud,
    cloud_fixture,  # noqa: F401
    created_ns,
    horizon_event,
    local_rfc3339,
    sse_records,
    utc_text,
)

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]


async def all_records(web: Any, base: str, **params: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await web.get(f"{base}/records", params={"limit": 17, **params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        seen += r.json()["records"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen


async def test_a_horizon_feed_is_searchable_counted_explained_and_streamed_as_unverified(
        cloud: Cloud, people: People, stacks: StackStore, vectors_dir: Path) -> None:
    acme, globex = await people.org("acme"), await people.org("globex")
    stack, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    other, other_key = await stacks.register_stack(globex.org.org_id, "globex-prod")
    vector = json.loads((vectors_dir / "horizon_ingest_batch_example.json").read_bytes())
    decisions = records(fleet("payments", 2, ["sess-local"], seed=3), 100, start_ns=BASE_NS)
    events = [horizon_event(r, latency_ms=i % 7) for i, r in enumerate(decisions)]
    assert events[0]["timestamp"].endswith("+02:00") and events[0]["effect"].isupper()

    async with cloud.client() as http:
        daemon = await cloud.daemon(acme.org.org_id, stack.stack_id, key, http)
        body = (vectors_dir / "horizon_ingest_batch_example.json").read_bytes().replace(
            b"org_01HZX3EXAMPLE", acme.org.org_id.encode())
        sent = await http.post("/v1/ingest/dpr", content=body, headers={"Authorization": f"Bearer {key}"})
        assert sent.json()["accepted"] == 6
        await daemon.push(events)  # two requests of 50 events
        globex_daemon = await cloud.daemon(globex.org.org_id, other.stack_id, other_key, http)
        await globex_daemon.push([horizon_event(r) for r in records(fleet("globex", 1, ["sess-g"], seed=4), 5)])
        await cloud.settle(summaries=111)

        auditor = await people.member(acme, Role.AUDITOR)
        await sign_in(http, auditor.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"

        # Search: every decision once, newest first, each marked unverified with its source.
        found = await all_records(http, base)
        ids = [e["record_id"] for e in vector["events"]] + [e["record_id"] for e in events]
        assert sorted(r["record_id"] for r in found) == sorted(ids)
        assert {(r["verification"], r["source"], r["stack_id"]) for r in found} == {
            ("unverified", "legacy-feed", stack.stack_id)}
        assert [r["created_ns"] for r in found] == sorted((r["created_ns"] for r in found), reverse=True)
        # The daemon's local time (+02:00) is stored as the same instant in UTC.
        first = next(r for r in found if r["record_id"] == decisions[0]["record_id"])
        assert first["created_ns"] == created_ns(decisions[0])
        assert first["created_at"] == utc_text(created_ns(decisions[0]))
        assert (first["effect"], first["tool_id"], first["matched_rule_id"], first["session_id"]) == (
            decisions[0]["effect"], decisions[0]["tool_id"], decisions[0]["matched_rule_id"], "sess-local")
        assert (first["record_hash"], first["link_status"]) == ("", "unverified")

        # Counts: by effect, the feed's upper-case effects, once each.
        expected = Counter([e["effect"] for e in vector["events"]] + [e["effect"] for e in events])
        r = await http.get(f"{base}/counts")
        assert r.json() == dict(sorted(expected.items()))
        r = await http.get(f"{base}/records", params={"effect": "DENY", "limit": 1000})
        assert len(r.json()["records"]) == expected["DENY"] and r.json()["counts_by_effect"] == {
            "DENY": expected["DENY"]}
        # The verification filter: all of them are unverified, none verified.
        assert len(await all_records(http, base, verification="unverified")) == len(ids)
        assert await all_records(http, base, verification="verified") == []
        assert (await http.get(f"{base}/counts", params={"verification": "verified"})).json() == {}
        assert (await http.get(f"{base}/records", params={"verification": "maybe"})).status_code == 400
        # The session timeline has the vector's session, oldest first.
        timeline = (await http.get(f"{base}/sessions/sess-7c1d")).json()["records"]
        assert [t["record_id"] for t in timeline] == [e["record_id"] for e in vector["events"]]

        # The search page marks them.
        page = (await http.get(f"/o/{acme.org.slug}/audit", params={"verification": "unverified"})).text
        assert page.count('data-verification="unverified"') == 50  # the first page
        assert "unverified · legacy-feed" in page and f"<b>{len(ids)}</b> matching" in page

        # Explain says what it is, why it cannot be verified, and what the daemon sent.
        r = await http.get(f"{base}/records/{decisions[0]['record_id']}")
        assert r.status_code == 200, r.text
        [copy] = r.json()["copies"]
        assert copy["summary"]["verification"] == "unverified" and copy["chain_index"] is None
        assert copy["unverified"]["sent_timestamp"] == local_rfc3339(created_ns(decisions[0]))
        assert copy["unverified"]["stored_at"] == utc_text(created_ns(decisions[0]))
        assert copy["unverified"]["deliveries"] == 1 and copy["unverified"]["sources"] == ["legacy-feed"]
        assert "no record_hash, prev_record_hash or signature" in copy["unverified"]["why"]
        assert copy["record"]["timestamp"].endswith("+02:00") and copy["record"]["latency_ms"] == 0
        html = (await http.get(f"/o/{acme.org.slug}/audit/records/{decisions[0]['record_id']}")).text
        assert "Decision summary from the legacy Horizon feed" in html
        assert "no record_hash, prev_record_hash or signature" in html
        assert local_rfc3339(created_ns(decisions[0])) in html and 'id="verify"' not in html
        # The vector's hostile rule id is escaped text.
        deny = vector["events"][1]
        html = (await http.get(f"/o/{acme.org.slug}/audit/records/{deny['record_id']}")).text
        assert "&lt;egress &amp; &#34;exfil&#34;&gt;" in html and "<egress" not in html
        csrf = (await http.get("/api/v1/me")).json()["csrf_token"]
        verify = (await http.post(f"{base}/records/{decisions[0]['record_id']}/verify",
                                  headers={"X-CSRF-Token": csrf})).json()
        assert verify["ok"] is False
        assert [(k["name"], k["ok"]) for k in verify["copies"][0]["checks"]] == [("verifiable", None)]

        # The live stream: the last 50 indexed, in indexing order, marked.
        stream = await http.get(f"{base}/stream", params={"max_seconds": "0.5"})
        streamed = sse_records(stream.text)
        assert [s["record_id"] for s in streamed] == [e["record_id"] for e in events[-50:]]
        assert {s["verification"] for s in streamed} == {"unverified"}

        # Never part of a chain: no chain, no finding, no alert.
        assert (await http.get(f"{base}/integrity")).json() == []
        assert (await http.get(f"{base}/alerts")).json() == []

        # Home's activity and the agent page (the stack's recent decisions) show them.
        await sign_in(http, acme.email, PASSWORD)  # an Auditor does not read fleet health
        activity = (await http.get(f"/api/v1/orgs/{acme.org.slug}/fleet/activity")).json()["records"]
        assert [a["record_id"] for a in activity] == [e["record_id"] for e in reversed(events)]
        agent = decisions[0]["agent_id"]
        detail = (await http.get(f"/api/v1/orgs/{acme.org.slug}/fleet/stacks/{stack.stack_id}/agents/{agent}")).json()
        assert [d["record_id"] for d in detail["records"]] == [
            r["record_id"] for r in reversed(decisions) if r["agent_id"] == agent]
        home = (await http.get(f"/o/{acme.org.slug}/")).text
        assert f'/audit/records/{events[-1]["record_id"]}' in home and "(unverified)" in home

        # Another organisation sees none of it, and acme none of globex's.
        await sign_in(http, globex.email, PASSWORD)
        theirs = await all_records(http, f"/api/v1/orgs/{globex.org.slug}/audit")
        assert len(theirs) == 5 and {r["stack_id"] for r in theirs} == {other.stack_id}
        assert (await http.get(f"/api/v1/orgs/{globex.org.slug}/audit/records/{ids[0]}")).status_code == 404
        assert not set(ids) & {s["record_id"] for s in sse_records(
            (await http.get(f"/api/v1/orgs/{globex.org.slug}/audit/stream", params={"max_seconds": "0.5"})).text)}

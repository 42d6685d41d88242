"""One row per (org, stack, record_id) for the legacy feeds' decision summaries: the same
decision from the Horizon feed and a webhook, and a webhook the daemon retried, count once;
a full DPR with the same record_id (gRPC sync or import-wal) replaces the summary whichever
arrives first; chains are not touched; replaying decisions.legacy.v1 from offset 0, over the
same state or into empty tables, gives the same rows and counts."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.audit_index.service import AuditIndex
from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.identity.permissions import Role
from faramesh_cloud.ingest.feeds.import_ledger import ImportLedger
from faramesh_cloud.ingest.service import IngestService
from faramesh_cloud.ingest.wal_import import WalImporter
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.ingest import ClientFor
from tests.integration.audit_support import fast_config, fleet, publish, records
from tests.integration.fleet_audit_support import fleet_audit_fixture  # noqa: F401
from tests.integration.legacy_search_support import (
    Cloud,
    cloud_fixture,  # noqa: F401
    horizon_event,
    sse_records,
    webhook_body,
)
from tests.integration.test_legacy_decisions_search import all_records
from tests.sync_items import dpr_item

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["record_id"] not in out, f"{row['record_id']} shows twice"
        out[row["record_id"]] = row
    return out


async def test_the_feed_and_a_webhook_retried_three_times_show_and_count_once(
        cloud: Cloud, people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    stack, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    decisions = records(fleet("pay", 2, ["sess-w"], seed=8), 50)
    deny = next(r for r in decisions if r["effect"] == "DENY")
    async with cloud.client() as http:
        daemon = await cloud.daemon(acme.org.org_id, stack.stack_id, key, http)
        for _ in range(3):  # the daemon's sender retries a delivery whose answer it lost
            await daemon.webhook(webhook_body(deny))
        await daemon.push([horizon_event(r) for r in decisions])  # the same decisions over the feed
        # Without a record_id a retry cannot be told from a second identical decision: each stays.
        anonymous = webhook_body(deny, record_id="", reason="no dpr written")
        await daemon.webhook(anonymous)
        await daemon.webhook(anonymous)
        await cloud.settle(summaries=3 + 50 + 2)

        auditor = await people.member(acme, Role.AUDITOR)
        await sign_in(http, auditor.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"
        shown = by_id(await all_records(http, base))
        assert set(shown) - {r["record_id"] for r in decisions} == {
            i for i in shown if i.startswith("no-record-id-")}
        assert len(shown) == 50 + 2
        # The first copy shows (the webhook's, with its reason and UTC seconds).
        assert shown[deny["record_id"]]["source"] == "webhook"
        assert shown[deny["record_id"]]["reason"] == deny["reason"]
        counts = (await http.get(f"{base}/counts")).json()
        expected = Counter(r["effect"] for r in decisions)
        expected["DENY"] += 2
        assert counts == dict(sorted(expected.items()))
        [copy] = (await http.get(f"{base}/records/{deny['record_id']}")).json()["copies"]
        assert copy["unverified"]["deliveries"] == 4
        assert copy["unverified"]["sources"] == ["webhook", "legacy-feed"]
        html = (await http.get(f"/o/{acme.org.slug}/audit/records/{deny['record_id']}")).text
        assert "4 (webhook, legacy-feed); shown and counted once" in html
        nameless = [i for i in shown if i.startswith("no-record-id-")]
        [copy] = (await http.get(f"{base}/records/{nameless[0]}")).json()["copies"]
        assert copy["record"]["record_id"] == "" and "sent no record_id" in copy["unverified"]["record_id_note"]
        # The live stream sends each decision once too.
        streamed = sse_records((await http.get(f"{base}/stream", params={"max_seconds": "0.5"})).text)
        assert len({s["record_id"] for s in streamed}) == len(streamed) == 50


async def test_a_dpr_with_the_same_record_id_replaces_the_summary_whichever_comes_first(
        cloud: Cloud, people: People, stacks: StackStore, ingest: IngestService, client_for: ClientFor,
        tmp_path: Path) -> None:
    acme = await people.org("acme")
    stack, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    dprs = records(fleet("pay", 2, ["sess-r"], seed=9), 60)  # two agents' chains, in write order
    synced, imported, late = dprs[:20], dprs[20:40], dprs[40:]
    sync = client_for(ingest, key)
    async with cloud.client() as http:
        daemon = await cloud.daemon(acme.org.org_id, stack.stack_id, key, http)
        auditor = await people.member(acme, Role.AUDITOR)
        await sign_in(http, auditor.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"

        # The legacy feed first: summaries of 40 decisions (one also by webhook).
        await daemon.push([horizon_event(r) for r in synced + imported])
        await daemon.webhook(webhook_body(synced[0]))
        await cloud.settle(summaries=41)
        assert {r["verification"] for r in await all_records(http, base)} == {"unverified"}

        # The full DPRs of the first 20 arrive over gRPC sync: they replace their summaries.
        pushed = await sync.push(str(uuid.uuid4()), [dpr_item(i + 1, to_go_json(r)) for i, r in enumerate(synced)])
        assert pushed.acked_through_sequence == 20
        await cloud.settle(summaries=41, dprs=20)
        shown = by_id(await all_records(http, base))
        assert {i: r["verification"] for i, r in shown.items()} == {
            **{r["record_id"]: "verified" for r in synced}, **{r["record_id"]: "unverified" for r in imported}}
        assert {r["source"] for r in shown.values() if r["verification"] == "verified"} == {"sync"}
        counts = (await http.get(f"{base}/counts")).json()
        assert counts == dict(sorted(Counter(r["effect"] for r in synced + imported).items()))
        [copy] = (await http.get(f"{base}/records/{synced[0]['record_id']}")).json()["copies"]
        assert copy["summary"]["verification"] == "verified" and copy["chain_index"] == 0
        assert copy["summary_receipt"]["superseded"] is True and copy["summary_receipt"]["deliveries"] == 2
        html = (await http.get(f"/o/{acme.org.slug}/audit/records/{synced[0]['record_id']}")).text
        assert "also arrived as an unverified summary" in html and "Decision summary from" not in html
        # The live stream: the remaining summaries and the DPRs, never a replaced summary.
        streamed = sse_records((await http.get(f"{base}/stream", params={"max_seconds": "0.5"})).text)
        assert sorted((s["record_id"], s["verification"]) for s in streamed) == sorted(
            [(r["record_id"], "unverified") for r in imported] + [(r["record_id"], "verified") for r in synced])

        # The next 20 come by import-wal from the daemon's JSONL export.
        export = tmp_path / "export.jsonl"
        export.write_bytes(b"".join(to_go_json(r) + b"\n" for r in imported))
        ledger = ImportLedger(cloud.fleet.database)
        await ledger.start()
        report = await WalImporter(cloud.fleet.log, ledger).run(export, acme.org.org_id, stack.stack_id)
        assert report.total_records == 20
        await cloud.settle(summaries=41, dprs=40)
        shown = by_id(await all_records(http, base))
        assert len(shown) == 40 and {r["verification"] for r in shown.values()} == {"verified"}
        assert await all_records(http, base, verification="unverified") == []

        # The DPR first, then its summaries (the feed, and a webhook sent three times).
        pushed = await sync.push(str(uuid.uuid4()), [dpr_item(i + 1, to_go_json(r)) for i, r in enumerate(late)])
        assert pushed.acked_through_sequence == 20
        await cloud.settle(summaries=41, dprs=60)
        await daemon.push([horizon_event(r) for r in late])
        for _ in range(3):
            await daemon.webhook(webhook_body(late[-1]))
        await cloud.settle(summaries=41 + 20 + 3, dprs=60)
        shown = by_id(await all_records(http, base))
        assert sorted(shown) == sorted(r["record_id"] for r in dprs)
        assert {r["verification"] for r in shown.values()} == {"verified"}
        assert (await http.get(f"{base}/counts")).json() == dict(sorted(Counter(r["effect"] for r in dprs).items()))
        [copy] = (await http.get(f"{base}/records/{late[-1]['record_id']}")).json()["copies"]
        assert copy["summary_receipt"]["deliveries"] == 4 and copy["summary_receipt"]["superseded"] is True

        # The chains hold every DPR and nothing else: no finding, no alert.
        [integrity] = (await http.get(f"{base}/integrity")).json()
        assert integrity["chain_length"] == 60 and integrity["intact"] and integrity["findings_by_kind"] == {}
        assert (await http.get(f"{base}/alerts")).json() == []
    assert cloud.index.legacy_sink.stats.replaced == 20 and cloud.index.sink.stats.summaries_replaced == 40


async def _view(cloud: Cloud, http: Any, base: str) -> dict[str, Any]:
    """What a user sees (positions on the log and the tail's sequence numbers left out: a
    rebuild may give them in another order)."""
    rows = await all_records(http, base)
    explained = {}
    for row in rows[:12]:
        copies = (await http.get(f"{base}/records/{row['record_id']}")).json()["copies"]
        explained[row["record_id"]] = [(c["summary"]["verification"], c["unverified"], c["summary_receipt"])
                                       for c in copies]
    tail = sse_records((await http.get(f"{base}/stream", params={"max_seconds": "0.5"})).text)
    return {
        "search": [{k: v for k, v in r.items() if k not in ("org_seq", "log_partition", "log_offset")}
                   for r in rows],
        "counts": (await http.get(f"{base}/counts")).json(),
        "unverified": len(await all_records(http, base, verification="unverified")),
        "explain": explained,
        "tail": sorted(s["record_id"] for s in tail),
        "integrity": (await http.get(f"{base}/integrity")).json(),
    }


async def test_replaying_the_topics_from_offset_zero_gives_the_same_rows_and_counts(
        cloud: Cloud, people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    stack, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    dprs = records(fleet("pay", 2, ["sess-x"], seed=12), 40)
    fl = cloud.fleet
    async with cloud.client() as http:
        daemon = await cloud.daemon(acme.org.org_id, stack.stack_id, key, http)
        await daemon.push([horizon_event(r) for r in dprs])
        for r in dprs[:5]:
            await daemon.webhook(webhook_body(r))
            await daemon.webhook(webhook_body(r, record_id=""))
        await publish(fl.log, acme.org.org_id, stack.stack_id, dprs[:10])  # a DPR replaces 10 of them
        await cloud.settle(summaries=50, dprs=10)
        await sign_in(http, acme.email, PASSWORD)
        base = f"/api/v1/orgs/{acme.org.slug}/audit"
        before = await _view(cloud, http, base)
        assert before["unverified"] == 30 + 5 and len(before["search"]) == 40 + 5

        # Both topics from offset 0 under new consumer groups, over the same state.
        replay = AuditIndex(fl.database, fl.log, fl.olap, fast_config(fl.olap_database, group="replay"))
        await replay.start()
        try:
            await Cloud(fl, cloud.app, cloud.secrets, replay).settle(summaries=50, dprs=10)
        finally:
            await replay.stop()
        assert replay.legacy_sink.stats.already_applied == 50 and replay.legacy_sink.stats.indexed == 0
        assert await _view(cloud, http, base) == before

        # A rebuild: every table of the index emptied, both topics consumed again.
        await cloud.index.stop()
        async with fl.database.connection() as conn:
            await conn.execute("TRUNCATE audit_chain_agents, audit_chain_records, audit_chain_findings, audit_alerts, "
                               "audit_org_sequences, audit_index_positions, audit_index_attempts, "
                               "audit_legacy_decisions")
        for table in (fl.tables.dpr, fl.tables.summaries, fl.tables.superseded):
            fl.olap.command(f"TRUNCATE TABLE {table}")
        rebuilt = AuditIndex(fl.database, fl.log, fl.olap, fast_config(fl.olap_database, group="rebuild"))
        await rebuilt.start()
        try:
            await Cloud(fl, cloud.app, cloud.secrets, rebuilt).settle(summaries=50, dprs=10)
        finally:
            await rebuilt.stop()
        assert await _view(cloud, http, base) == before

"""Blind minutes end to end: a daemon (a real sync client over gRPC/TLS 1.3 to the real ingest,
ingest's clock set to the minutes of the story) syncs, goes silent, keeps deciding while
Cloud is blind, then catches up. The fleet projection and the real audit index read the log,
and the gateway's strip (stack Overview, chain-integrity page) and its REST twin show the
blind span to the minute and the late records with the window they were created in."""

from __future__ import annotations

import time
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from faramesh_cloud_api.sync.v1 import fleet_pb2

from faramesh_cloud.dpr.builder import to_go_json
from faramesh_cloud.events.topics import SYNC_ITEMS
from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.gateway.web.blind_minutes import MINUTE_NS
from faramesh_cloud.gateway.web.blind_minutes import _iso as iso
from faramesh_cloud.rpc.sync_client import push_item
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.fixtures.ingest import ClientFor, StartIngest, read_topic
from tests.integration.audit_support import fleet, records
from tests.integration.fleet_audit_support import FleetAuditIndex, fleet_audit_fixture  # noqa: F401
from tests.sync_items import dpr_item

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

BUFFER = "5f0c2a9e-1b7d-4c3e-9a55-2d8e7f6b4c10"


class Daemon:
    """A daemon that speaks the sync API: it writes records into its buffer and pushes them,
    and a status report, whenever it has a link."""

    def __init__(self, client: object) -> None:
        self.client = client
        self.seq = 0
        self.writers = fleet("pay", 2, ["sess-1"], seed=11)

    def decide(self, count: int, created_ns: int) -> list[bytes]:
        return [to_go_json(r) for r in records(self.writers, count, created_ns)]

    async def sync(self, raws: list[bytes]) -> None:
        items = []
        for raw in raws:
            self.seq += 1
            items.append(dpr_item(self.seq, raw))
        self.seq += 1
        items.append(push_item(self.seq, fleet_pb2.StackStatus(daemon_version="1.4.2")))
        await self.client.hello(BUFFER)  # type: ignore[attr-defined]
        response = await self.client.push(BUFFER, items)  # type: ignore[attr-defined]
        assert response.acked_through_sequence == self.seq


async def test_the_strip_shows_the_blind_span_and_the_late_records_with_their_window(
        database: Database, fleet_audit: FleetAuditIndex, people: People, stacks: StackStore,
        start_ingest: StartIngest, client_for: ClientFor, tmp_path: Path) -> None:
    acme, beta = await people.org("acme"), await people.org("beta")
    pay, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    other, _ = await stacks.register_stack(beta.org.org_id, "beta-stack")
    now_minute = time.time_ns() // MINUTE_NS * MINUTE_NS
    first = now_minute - 90 * MINUTE_NS
    async with database.connection() as conn:  # registered 90 minutes ago, just before the first sync
        await conn.execute("UPDATE stacks SET created_at = to_timestamp(%s) WHERE stack_id = %s",
                           (first // 10**9, pay.stack_id))
    clock = [first]
    ingest = await start_ingest(wall_ns=lambda: clock[0])
    daemon = Daemon(client_for(ingest, key))

    # Synced for three minutes: 5 records, each received as it was made.
    await daemon.sync(daemon.decide(5, first))
    for minute in (1, 2):
        clock[0] = first + minute * MINUTE_NS
        await daemon.sync([])
    # Silent from minute 3; the daemon keeps deciding 60 to 50 minutes ago (7 records).
    created_from, created_to = now_minute - 60 * MINUTE_NS, now_minute - 50 * MINUTE_NS
    blind_records = daemon.decide(6, created_from) + daemon.decide(1, created_to)
    # Back now: it catches up.
    clock[0] = now_minute + 1_000_000_000
    await daemon.sync(blind_records)

    items = [u for m in await read_topic(fleet_audit.log, SYNC_ITEMS)
             if (u := FleetProcessor().process(m)) is not None]
    await FleetSink(database).write(items)  # type: ignore[arg-type]
    await fleet_audit.index(12)

    app = fleet_audit.app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in(web, acme.email, PASSWORD)
        api = f"/api/v1/orgs/acme/fleet/stacks/{pay.stack_id}/blind-minutes"
        body = (await web.get(api)).json()
        assert body["blind"] == [{"start": iso(first + 3 * MINUTE_NS), "end": iso(now_minute), "minutes": 87}]
        assert body["blind_minutes"] == 87 and body["heard_minutes"] == 4
        assert body["records_received"] == 12 and body["late_records"] == 7
        assert body["late"] == [{"received_at": iso(now_minute), "records": 7,
                                 "created_from": iso(created_from), "created_to": iso(created_to)}]
        week = (await web.get(api, params={"range": "7d"})).json()
        assert (week["blind_minutes"], week["late_records"]) == (87, 7)
        bad = await web.get(api, params={"range": "1y"})
        assert bad.status_code == 400 and "24h, 7d" in bad.json()["detail"]

        for page in (f"/o/acme/fleet/stacks/{pay.stack_id}", f"/o/acme/audit/integrity/{pay.stack_id}"):
            html = (await web.get(page)).text
            section = html.split('id="blind-minutes"', 1)[1].split("</section>", 1)[0]
            assert 'id="bm-blind-total" data-value="87"' in section
            assert 'id="bm-late-total" data-value="7"' in section
            svg = ElementTree.fromstring(section[section.index("<svg"):section.index("</svg>") + 6])
            cells = [c for c in svg.iter() if "cell" in (c.get("class") or "").split()]
            assert len(cells) == 96
            assert sum(int(c.get("data-late") or 0) for c in cells) == 7
            assert int(cells[-1].get("data-late") or 0) == 7  # caught up in the last cell
            blind = [i for i, c in enumerate(cells) if c.get("data-state") == "blind"]
            assert blind and blind == list(range(blind[0], blind[-1] + 1))  # one span
            assert (blind[-1] - blind[0] + 1) * 15 >= 87
            assert (f'class="bm-late" data-records="7" data-from="{iso(created_from)}" data-to="{iso(created_to)}"'
                    in section)
            assert f'class="bm-blind" data-minutes="87" data-from="{iso(first + 3 * MINUTE_NS)}"' in section

        doc = (await web.get("/api/v1/openapi.json")).json()["paths"]
        assert "range" in str(doc["/api/v1/orgs/{org}/fleet/stacks/{stack_id}/blind-minutes"]["get"])

        # Another organisation's stack is not there, by API or page.
        assert (await web.get(f"/api/v1/orgs/acme/fleet/stacks/{other.stack_id}/blind-minutes")).status_code == 404
        await sign_in(web, beta.email, PASSWORD)
        assert (await web.get(f"/api/v1/orgs/beta/fleet/stacks/{pay.stack_id}/blind-minutes")).status_code == 404
        empty = (await web.get(f"/api/v1/orgs/beta/fleet/stacks/{other.stack_id}/blind-minutes")).json()
        assert empty["records_received"] == 0 and empty["late"] == []


async def test_contact_minutes_count_each_item_once_under_redelivery_and_replay(
        database: Database, fleet_audit: FleetAuditIndex, people: People, stacks: StackStore,
        start_ingest: StartIngest, client_for: ClientFor) -> None:
    from faramesh_cloud.fleet.query import FleetQuery

    acme = await people.org("acme")
    pay, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    start = time.time_ns() // MINUTE_NS * MINUTE_NS - 10 * MINUTE_NS
    clock = [start]
    daemon = Daemon(client_for(await start_ingest(wall_ns=lambda: clock[0]), key))
    for minute in (0, 0, 1, 4):
        clock[0] = start + minute * MINUTE_NS + 5_000_000_000
        await daemon.sync([])
    messages = await read_topic(fleet_audit.log, SYNC_ITEMS)
    updates = [u for m in messages if (u := FleetProcessor().process(m)) is not None]
    sink = FleetSink(database)
    await sink.write(updates[:3])  # type: ignore[arg-type]
    await sink.write(updates)  # type: ignore[arg-type]  # the first three again: a redelivery
    query = FleetQuery(database, stacks)
    got = [(m.minute_ns, m.items) for m in await query.contact(acme.org.org_id, pay.stack_id, start,
                                                                 start + 10 * MINUTE_NS)]
    assert got == [(start, 2), (start + MINUTE_NS, 1), (start + 4 * MINUTE_NS, 1)]
    assert sink.skipped == 3
    assert await query.contact(acme.org.org_id, "another-stack", start, start + 10 * MINUTE_NS) == []


async def test_contact_older_than_31_days_before_the_newest_is_pruned(
        database: Database, fleet_audit: FleetAuditIndex, people: People, stacks: StackStore,
        start_ingest: StartIngest, client_for: ClientFor) -> None:
    from faramesh_cloud.fleet.query import FleetQuery

    acme = await people.org("acme")
    pay, key = await stacks.register_stack(acme.org.org_id, "payments-prod")
    day = 24 * 60 * MINUTE_NS
    newest = time.time_ns() // MINUTE_NS * MINUTE_NS
    clock = [0]
    daemon = Daemon(client_for(await start_ingest(wall_ns=lambda: clock[0]), key))
    for at in (newest - 40 * day, newest - 31 * day - MINUTE_NS, newest - 30 * day, newest):
        clock[0] = at
        await daemon.sync([])
    updates = [u for m in await read_topic(fleet_audit.log, SYNC_ITEMS)
               if (u := FleetProcessor().process(m)) is not None]
    for u in updates:  # one batch each: the newest arrives last
        await FleetSink(database).write([u])  # type: ignore[list-item]
    got = await FleetQuery(database, stacks).contact(acme.org.org_id, pay.stack_id, 0, newest + MINUTE_NS)
    assert [m.minute_ns for m in got] == [newest - 30 * day, newest]

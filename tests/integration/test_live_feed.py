"""The live views are pushed from the index's commits through one shared feed per organisation
(``gateway/web/live_feed.py``), end to end: DPRs and unverified summaries published on the log,
indexed by the real audit index, whose sink's NOTIFY wakes the gateway, streamed over real HTTP
(uvicorn) to server-sent event clients.

* many viewers of one organisation each get every new row they keep, once, in tail order, with
  their own filters and stack visibility; a viewer of another organisation gets none of it;
* a viewer that does not take its events is cut off with ``behind`` and the others miss nothing;
* a reconnect with ``Last-Event-ID`` resumes right after it, from the feed's ring or with a
  catch-up read, without loss or repeats;
* while rows arrive, the feed's reads of the index do not depend on how many viewers there are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.gateway.web.audit_live import stream_events
from faramesh_cloud.gateway.web.live_feed import LiveConfig, Selector
from faramesh_cloud.identity.permissions import Role, StackRole
from faramesh_cloud.identity.service import Identity
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.olap.chdb import ChdbOlap
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_support import BASE_NS, fleet, publish, records
from tests.integration.live_feed_support import GatedReader, LiveCloud, Stream, ids_of, live_cloud

pytestmark = [pytest.mark.postgres, pytest.mark.chdb, pytest.mark.integration]


@pytest.fixture
async def db(pg_url: str) -> Any:
    async with Database(pg_url, max_size=10) as database:
        yield database


async def signed_in(base: str, email: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base)
    await sign_in(client, email, PASSWORD)
    return client


async def test_many_viewers_each_get_every_new_row_once_in_order_with_their_filters(
        db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, web_deps: Any,
        stacks: StackStore, people: People, identity: Identity) -> None:
    acme, beta = await people.org("acme"), await people.org("beta")
    pay, _ = await stacks.register_stack(acme.org.org_id, "payments")
    ops, _ = await stacks.register_stack(acme.org.org_id, "ops")
    other, _ = await stacks.register_stack(beta.org.org_id, "beta-stack")
    fenced = await people.member(acme, Role.OPERATOR)
    await identity.members.set_stack_role(acme.org.org_id, fenced.user.user_id, ops.stack_id, StackRole.NONE,
                                          await people.principal(acme))
    pay_writers, ops_writers = fleet("pay", 2, ["s1"], seed=21), fleet("ops", 2, ["s2"], seed=22)
    summary = LegacyDecision(source=SOURCE_HORIZON, effect="DENY", timestamp="2026-05-28T00:00:01Z",
                             decided_at_ns=BASE_NS, record_id="legacy-only-1", agent_id="pay-agent-1",
                             tool_id="db/query", latency_ms=2)

    async with live_cloud(db, postgres_log, chdb, olap_database, web_deps, stacks) as cloud:
        owner, operator, outsider = [await signed_in(cloud.base, p.email) for p in (acme, fenced, beta)]
        a = "/o/acme/audit/live/events"
        keeps: dict[str, Callable[[Any], bool]] = {
            a: lambda r: True,
            f"{a}?agent=pay-agent-1": lambda r: r.agent_id == "pay-agent-1",
            f"{a}?stack={ops.stack_id}": lambda r: r.stack_id == ops.stack_id,
            f"{a}?verification=unverified": lambda r: r.verification == "unverified",
            "/api/v1/orgs/acme/audit/stream?effect=DENY": lambda r: r.effect == "DENY",
            f"/o/acme/activity/events?stack={pay.stack_id}": lambda r: r.stack_id == pay.stack_id,
        }
        streams = [(url, await Stream(owner, url).open()) for url in keeps for _ in range(3)]
        fenced_stream = await Stream(operator, a).open()
        beta_stream = await Stream(outsider, "/o/beta/audit/live/events").open()
        assert all(s.status == 200 for _, s in streams) and fenced_stream.status == beta_stream.status == 200
        for _, stream in streams[::3]:  # the gateway's headers on a streamed answer, as on a page
            assert stream.headers is not None and stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-store" and stream.headers["x-content-type-options"] == "nosniff"
            assert stream.headers["x-frame-options"] == "DENY" and "default-src 'self'" in stream.headers[
                "content-security-policy"]

        published = 0
        for round_ in range(3):  # three commits at least: the feed reads after each
            await publish(postgres_log, acme.org.org_id, pay.stack_id, records(pay_writers, 6), first_seq=round_ * 10)
            await publish(postgres_log, acme.org.org_id, ops.stack_id, records(ops_writers, 4), first_seq=round_ * 10)
            published += 10
            if round_ == 1:
                await cloud.legacy(acme.org.org_id, pay.stack_id, summary, seq=0)
                published += 1
            if round_ == 0:
                await publish(postgres_log, beta.org.org_id, other.stack_id,
                              records(fleet("beta", 1, ["s"], seed=23), 2))
            await streams[0][1].records_at_least(published)

        tail = await cloud.tail(acme.org.org_id)
        assert len(tail) == published and [r.org_seq for r in tail] == sorted(r.org_seq for r in tail)
        assert "unverified" in {r.verification for r in tail} and "DENY" in {r.effect for r in tail}
        for url, stream in streams:
            expected = ids_of([r for r in tail if keeps[url](r)])
            assert expected, url
            assert ids_of(await stream.records_at_least(len(expected))) == expected, url
        pay_only = ids_of([r for r in tail if r.stack_id == pay.stack_id])
        assert ids_of(await fenced_stream.records_at_least(len(pay_only))) == pay_only
        beta_rows = ids_of(await cloud.tail(beta.org.org_id))
        assert ids_of(await beta_stream.records_at_least(2)) == beta_rows

        cloud.hub.close()  # every stream ends now: nothing more came after what was expected
        for url, stream in [*streams, ("fenced", fenced_stream), ("beta", beta_stream)]:
            await stream.ended()
            assert stream.kinds[-1] == "end", url
        for url, stream in streams:
            assert ids_of(stream.records) == ids_of([r for r in tail if keeps[url](r)]), url
        assert ids_of(fenced_stream.records) == pay_only
        assert ids_of(beta_stream.records) == beta_rows
        for client in (owner, operator, outsider):
            await client.aclose()


async def test_a_slow_viewer_is_cut_off_without_affecting_the_others(
        db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, web_deps: Any,
        stacks: StackStore, people: People) -> None:
    acme = await people.org("acme")
    pay, _ = await stacks.register_stack(acme.org.org_id, "payments")
    writers = fleet("pay", 2, ["s1"], seed=31)
    async with live_cloud(db, postgres_log, chdb, olap_database, web_deps, stacks, LiveConfig(queue=8)) as cloud:
        owner = await signed_in(cloud.base, acme.email)
        fast = [await Stream(owner, "/o/acme/audit/live/events").open() for _ in range(3)]
        # The slow one: a stream that has started and then takes nothing (its socket is full).
        slow = stream_events(cloud.hub, acme.org.org_id, "acme", Selector(), None, 50, 120, _connected)
        head = [await anext(slow), await anext(slow)]
        assert b": live" in head[1] and cloud.hub.viewers(acme.org.org_id) == 4

        for round_ in range(3):  # 5 rows a commit: the slow one's queue of 8 overflows on the second
            await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 5), first_seq=round_ * 5)
            for stream in fast:
                await stream.records_at_least(5 * (round_ + 1))

        assert cloud.hub.viewers(acme.org.org_id) == 3  # dropped from the feed as it overflowed
        rest = [chunk async for chunk in slow]
        assert len(rest) == 1 and rest[0].startswith(b"event: behind\n")
        assert b"Reload" in rest[0] and b"event: dpr" not in b"".join(rest)
        tail = ids_of(await cloud.tail(acme.org.org_id))
        assert len(tail) == 15
        for stream in fast:
            assert ids_of(stream.records) == tail
        # What it was told is where to resume: from there it gets everything, once.
        cursor = _behind_cursor(rest[0])
        again = await Stream(owner, "/o/acme/audit/live/events", last_event_id=cursor).open()
        assert ids_of(await again.records_at_least(15)) == tail
        await owner.aclose()


async def test_a_reconnect_resumes_after_its_last_event_id_without_loss_or_repeats(
        db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, web_deps: Any,
        stacks: StackStore, people: People) -> None:
    acme = await people.org("acme")
    pay, _ = await stacks.register_stack(acme.org.org_id, "payments")
    writers = fleet("pay", 3, ["s1"], seed=41)
    url = "/o/acme/audit/live/events?agent=pay-agent-2"
    async with live_cloud(db, postgres_log, chdb, olap_database, web_deps, stacks, LiveConfig(ring=6)) as cloud:
        owner = await signed_in(cloud.base, acme.email)
        keeper = await Stream(owner, "/o/acme/audit/live/events").open()  # keeps the feed running
        viewer = await Stream(owner, url).open()
        await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 9))
        await viewer.records_at_least(3)
        await viewer.close()  # the browser lost its connection; it resumes from the last id it saw
        last_id = viewer.ids[-1]

        async def resume(expected: int) -> list[str]:
            back = await Stream(owner, url, last_event_id=last_id).open()
            got = ids_of(await back.records_at_least(expected))
            await back.close()
            return got

        # Within the ring (6 rows, 3 committed since): no query, then the rest as it comes.
        await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 3), first_seq=9)
        await keeper.records_at_least(12)
        mine = [r for r in await cloud.tail(acme.org.org_id) if r.agent_id == "pay-agent-2"]
        assert ids_of(mine[:3]) == ids_of(viewer.records)
        queries = cloud.olap.queries
        assert await resume(1) == ids_of(mine[3:])
        assert cloud.olap.queries == queries

        # Behind the ring (12 more rows committed): one catch-up read, same rows, none twice.
        await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 12), first_seq=12)
        await keeper.records_at_least(24)
        mine = [r for r in await cloud.tail(acme.org.org_id) if r.agent_id == "pay-agent-2"]
        queries = cloud.olap.queries
        assert await resume(len(mine) - 3) == ids_of(mine[3:])
        assert cloud.olap.queries > queries

        # No viewer left (the feed stops), rows committed meanwhile, then the resume.
        await keeper.close()
        await _no_viewers(cloud, acme.org.org_id)
        await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 3), first_seq=24)
        await _indexed(cloud, acme.org.org_id, 27)
        mine = [r for r in await cloud.tail(acme.org.org_id) if r.agent_id == "pay-agent-2"]
        assert await resume(len(mine) - 3) == ids_of(mine[3:])
        await owner.aclose()


@pytest.mark.parametrize("read", ["before the new rows", "after the new rows"])
async def test_rows_committed_during_a_catch_up_read_are_sent_once(
        db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, web_deps: Any,
        stacks: StackStore, people: People, read: str) -> None:
    """A resume from behind the ring reads from its cursor while the feed goes on reading new
    commits into its queue: whether that read sees the new rows or not, each is sent once."""
    acme = await people.org("acme")
    pay, _ = await stacks.register_stack(acme.org.org_id, "payments")
    writers = fleet("pay", 2, ["s1"], seed=61)
    gated: list[GatedReader] = []

    def wrap(reader: Any) -> GatedReader:
        gated.append(GatedReader(reader))
        return gated[0]

    async with live_cloud(db, postgres_log, chdb, olap_database, web_deps, stacks, LiveConfig(ring=3),
                          wrap=wrap) as cloud:
        gate = gated[0]
        gate.before = read == "after the new rows"
        owner = await signed_in(cloud.base, acme.email)
        keeper = await Stream(owner, "/o/acme/audit/live/events").open()
        await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 10))
        await keeper.records_at_least(10)
        tail = await cloud.tail(acme.org.org_id)
        gate.gate = cloud.hub.reader.tail_cursor(tail[2].org_seq)
        resuming = Stream(owner, "/o/acme/audit/live/events", last_event_id=gate.gate)
        opening = asyncio.create_task(resuming.open())
        async with asyncio.timeout(60):
            await (gate.waiting if gate.before else gate.read).wait()  # its catch-up read is in hand
        await publish(postgres_log, acme.org.org_id, pay.stack_id, records(writers, 5), first_seq=10)
        await keeper.records_at_least(15)  # the feed has read them, and queued them for it too
        gate.release.set()
        await opening
        tail = await cloud.tail(acme.org.org_id)
        assert ids_of(await resuming.records_at_least(12)) == ids_of(tail[3:])
        cloud.hub.close()
        await resuming.ended()
        assert ids_of(resuming.records) == ids_of(tail[3:])  # nothing twice
        await owner.aclose()


async def test_the_feed_reads_the_index_as_often_with_one_viewer_as_with_many(
        db: Database, postgres_log: PostgresLog, chdb: ChdbOlap, olap_database: str, web_deps: Any,
        stacks: StackStore, people: People) -> None:
    acme = await people.org("acme")
    pay, _ = await stacks.register_stack(acme.org.org_id, "payments")
    writers = fleet("pay", 4, ["s1"], seed=51)
    config = LiveConfig(recheck_s=3600, min_gap_s=0)  # only commits wake the feed here
    async with live_cloud(db, postgres_log, chdb, olap_database, web_deps, stacks, config) as cloud:
        owner = await signed_in(cloud.base, acme.email)
        first = await Stream(owner, "/o/acme/audit/live/events").open()
        seen = 0

        async def commits(n: int, watching: list[Stream]) -> tuple[int, int]:
            """``n`` commits of one row each, each seen by every viewer before the next; the
            OLAP queries and feed reads they cost."""
            nonlocal seen
            queries, reads = cloud.olap.queries, cloud.hub.reads
            for _ in range(n):
                row = records([writers[seen % len(writers)]], 1)
                await publish(postgres_log, acme.org.org_id, pay.stack_id, row, first_seq=seen)
                seen += 1
                for stream in watching:
                    await stream.records_at_least(seen)
            return cloud.olap.queries - queries, cloud.hub.reads - reads

        one = await commits(4, [first])
        before = cloud.olap.queries
        everything = ["/o/acme/audit/live/events", f"/o/acme/activity/events?stack={pay.stack_id}"]
        many = [first, *[await Stream(owner, url).open() for url in everything for _ in range(8)]]
        agent_one = [await Stream(owner, "/o/acme/audit/live/events?agent=pay-agent-1").open() for _ in range(8)]
        assert cloud.olap.queries == before  # 24 viewers connected from the feed's ring: no query
        with_many = await commits(4, many)
        assert one == with_many and one[0] > 0, (one, with_many)
        assert one[1] == 4  # one read per commit, whatever the number of viewers
        tail = await cloud.tail(acme.org.org_id)
        assert len(tail) == 8 and ids_of(first.records) == ids_of(tail)
        for stream in agent_one:  # connected after the first 4: the backlog, then the rest
            assert ids_of(await stream.records_at_least(2)) == ids_of([r for r in tail if r.agent_id == "pay-agent-1"])
        await owner.aclose()


async def _connected() -> bool:
    return False


def _behind_cursor(event: bytes) -> str:
    import json

    (data,) = [line[6:] for line in event.decode().split("\n") if line.startswith("data: ")]
    return str(json.loads(data)["cursor"])


async def _no_viewers(cloud: LiveCloud, org_id: str) -> None:
    async with asyncio.timeout(60):
        while cloud.hub.viewers(org_id):
            await asyncio.sleep(0.02)


async def _indexed(cloud: LiveCloud, org_id: str, rows: int) -> None:
    async with asyncio.timeout(60):
        while len(await cloud.tail(org_id)) < rows:
            await asyncio.sleep(0.05)

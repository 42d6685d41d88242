"""Observability forwarding end to end on real PostgreSQL, the PostgreSQL log and the real
sync channel: a daemon pushes DPRs over gRPC/TLS → ingest appends → the forwarding consumer
group writes the outbox in its sink's transaction → each product's sender → a local receiver
that checks that product's exact public wire format (tests/forwarding_receivers.py).
Faults: a receiver down then up (everything delivered once it is back, nothing lost),
429 with Retry-After honoured, 5xx retried, 400/403 failed without retrying, 413 split,
Elastic per-item results; organisation isolation; a redelivered batch queues nothing twice."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from faramesh_cloud.consumer.runner import RunnerConfig
from faramesh_cloud.dpr.timefmt import created_at_nanos
from faramesh_cloud.events.legacy import SOURCE_HORIZON, LegacyDecision
from faramesh_cloud.events.topics import (
    DEAD_LETTERS,
    DPR_RECORDS,
    LEGACY_DECISIONS,
    Origin,
    stack_key,
)
from faramesh_cloud.forwarding.delivery import DeliveryConfig
from faramesh_cloud.forwarding.domain import InvalidForwarding
from faramesh_cloud.forwarding.processor import ForwardProcessor
from faramesh_cloud.forwarding.senders import Endpoints
from faramesh_cloud.forwarding.service import Forwarding, ForwardingConfig
from faramesh_cloud.log.port import LogRecord
from faramesh_cloud.log.postgres import PostgresLog
from faramesh_cloud.platform_audit.events import Actor
from faramesh_cloud.sql.database import Database
from tests.fixtures.ingest import MakeClient, MakeTenant, Tenant, read_topic
from tests.forwarding_receivers import Receiver, receiver
from tests.notifications_support import FakeClock
from tests.simulator_support import eventually
from tests.sync_items import dpr_item, synthetic_records

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]

ACTOR = Actor.system("test")
DD_KEY = "0123456789abcdef0123456789abcdef"


def config(**overrides: Any) -> ForwardingConfig:
    values: dict[str, Any] = dict(
        key=secrets.token_bytes(32), allow_private=True, send_interval_s=0.05, metrics_interval_s=3600,
        delivery=DeliveryConfig(retry_initial_s=0.05, retry_max_s=0.2, max_attempts=1000),
        runner=RunnerConfig(max_batch_records=500, max_batch_seconds=0.05, poll_records=500,
                            dead_letter_topic=DEAD_LETTERS))
    values.update(overrides)
    return ForwardingConfig(**values)


@pytest.fixture
async def start(database: Database, postgres_log: PostgresLog) -> AsyncIterator[Callable[..., Any]]:
    started: list[Forwarding] = []

    async def _start(**overrides: Any) -> Forwarding:
        forwarding = Forwarding(database, postgres_log, config(**overrides))
        await forwarding.start()
        started.append(forwarding)
        return forwarding

    yield _start
    for forwarding in started:
        await forwarding.stop()


@pytest.fixture
async def prepared(database: Database, postgres_log: PostgresLog) -> Callable[..., Any]:
    """A forwarding service whose consumer and sender the test drives itself (``consume``,
    ``deliveries.deliver_due()``): its tables, API and delivery loop, nothing running."""
    async def _make(**overrides: Any) -> Forwarding:
        forwarding = Forwarding(database, postgres_log, config(**overrides))
        await forwarding.prepare()
        return forwarding

    return _make


async def consume(forwarding: Forwarding, log: PostgresLog) -> None:
    """What the consumer does, once, over everything on the topic (the sink skips what it applied)."""
    rows = [ForwardProcessor().process(m) for m in await read_topic(log, DPR_RECORDS)]
    await forwarding.sink().write(rows)  # type: ignore[arg-type]


@pytest.fixture
def otlp() -> Iterator[Receiver]:
    with receiver("otlp", "Bearer s3cret") as r:
        yield r


async def push(sync_client: MakeClient, tenant: Tenant, raws: list[bytes]) -> None:
    response = await sync_client(tenant.key).push(str(uuid.uuid4()), [dpr_item(i, raw) for i, raw in
                                                                       enumerate(raws, start=1)])
    assert response.acked_through_sequence == len(raws)


async def outbox(database: Database) -> list[tuple[str, str, int]]:
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT item_key, state, attempts FROM forwarding_outbox ORDER BY id")
        return [(str(a), str(b), int(c)) for a, b, c in await cur.fetchall()]


async def test_a_pushed_dpr_reaches_an_otlp_collector_as_a_log_record(
        start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, otlp: Receiver) -> None:
    forwarding: Forwarding = await start()
    acme = await tenant()
    destination = await forwarding.api.create_destination(
        acme.org.org_id, "collector", "otlp", {"url": otlp.url, "headers": "Authorization=Bearer%20s3cret"}, ACTOR)
    assert destination.config == {"url": otlp.url, "header_names": ["authorization"]}  # the secret is not shown
    raws = synthetic_records(5)

    await push(sync_client, acme, raws)

    await eventually(lambda: len(otlp.received) == 5, "five log records at the collector", within_s=30)
    assert otlp.requests  # batched: as many requests as the consumer's batches (usually one)
    for path, headers, _ in otlp.requests:
        assert path == "/v1/logs" and headers["content-type"] == "application/x-protobuf"
        assert headers["authorization"] == "Bearer s3cret"
    resource, first = otlp.received[0]
    attributes = {kv.key: kv.value.string_value for kv in resource.attributes}
    assert attributes == {"service.name": "faramesh", "faramesh.org": acme.org.org_id,
                          "faramesh.stack": acme.stack.stack_id, "faramesh.stack_id": acme.stack.stack_id}
    assert [record.body.string_value.encode() for _, record in otlp.received] == raws  # as the daemon wrote it
    dpr = json.loads(raws[0])
    record_attrs = {kv.key: kv.value.string_value for kv in first.attributes}
    assert record_attrs["faramesh.record_id"] == dpr["record_id"]
    assert record_attrs["faramesh.effect"] == dpr["effect"] and first.severity_text == dpr["effect"].upper()
    assert first.time_unix_nano > 0 and first.observed_time_unix_nano >= first.time_unix_nano

    async def logged() -> bool:
        return sum(line.items for line in await forwarding.api.deliveries(acme.org.org_id)) == 5

    await eventually(logged, "the sends in the delivery log", within_s=30)
    lines = await forwarding.api.deliveries(acme.org.org_id)
    assert {(line.destination, line.outcome, line.attempts, line.http_status) for line in lines} == {
        ("collector", "delivered", 1, 200)}


@pytest.mark.parametrize("product", ["datadog", "splunk", "elastic", "grafana"])
async def test_each_product_receives_its_exact_wire_format(
        product: str, start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient) -> None:
    secret = {"datadog": DD_KEY, "splunk": "hec-token-1", "elastic": "ZWxhc3RpYzprZXk=",
              "grafana": "Basic " + base64.b64encode(b"123456:glc_token").decode()}[product]
    with receiver("otlp" if product == "grafana" else product, secret, prefix="/otlp") as r:
        endpoints = Endpoints(datadog_logs=r.url, datadog_api=r.url)
        forwarding: Forwarding = await start(endpoints=endpoints)
        acme = await tenant()
        kind, fields = {
            "datadog": ("datadog", {"site": "datadoghq.eu", "api_key": DD_KEY}),
            "splunk": ("splunk_hec", {"url": r.url, "token": "hec-token-1", "index": "faramesh"}),
            "elastic": ("elastic", {"url": r.url, "api_key": "ZWxhc3RpYzprZXk="}),
            "grafana": ("grafana_otlp", {"url": r.url + "/otlp", "instance_id": "123456", "token": "glc_token"}),
        }[product]
        await forwarding.api.create_destination(acme.org.org_id, product, kind, fields, ACTOR, forward_metrics=False)
        raws = synthetic_records(4)
        await push(sync_client, acme, raws)
        await eventually(lambda: len(r.received) == 4, f"four DPRs at {product}", within_s=30)
        dprs = [json.loads(raw) for raw in raws]
        if product == "datadog":
            assert {(path, headers["content-encoding"]) for path, headers, _ in r.requests} == {
                ("/api/v2/logs", "gzip")}
            assert [e["dpr"] for e in r.received] == dprs
            assert r.received[0]["ddsource"] == "faramesh"
            assert f"stack_id:{acme.stack.stack_id}" in r.received[0]["ddtags"].split(",")
        elif product == "splunk":
            assert [e["event"] for e in r.received] == dprs
            assert {e["index"] for e in r.received} == {"faramesh"} and r.received[0]["sourcetype"] == "faramesh:dpr"
            assert r.received[0]["time"] == created_at_nanos(dprs[0]["created_at"]) / 1e9
        elif product == "elastic":
            assert [d["dpr"] for d in r.received] == dprs
            assert {d["_index"] for d in r.received} == {"faramesh-dpr"}
            assert r.received[0]["_id"] == f"{acme.stack.stack_id}:{dprs[0]['record_id']}"
        else:
            assert {p for p, _, _ in r.requests} == {"/otlp/v1/logs"}
            assert [rec.body.string_value.encode() for _, rec in r.received] == raws


async def test_a_receiver_down_then_up_gets_everything_once_it_is_back(
        start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, otlp: Receiver,
        database: Database) -> None:
    forwarding: Forwarding = await start()
    acme = await tenant()
    await forwarding.api.create_destination(acme.org.org_id, "collector", "otlp",
                                            {"url": otlp.url, "headers": "Authorization=Bearer s3cret"}, ACTOR)
    otlp.stop()
    raws = synthetic_records(30)
    await push(sync_client, acme, raws[:10])
    await push(sync_client, acme, raws[10:])

    async def retried() -> bool:
        return any(line.outcome == "retrying" for line in await forwarding.api.deliveries(acme.org.org_id))

    await eventually(retried, "a failed attempt logged as retrying", within_s=30)
    assert all(state == "pending" for _, state, _ in await outbox(database))
    otlp.start()  # the same port

    async def delivered() -> bool:
        return {state for _, state, _ in await outbox(database)} == {"delivered"}

    await eventually(delivered, "all 30 delivered once the collector is back", within_s=30)
    got = [rec.body.string_value.encode() for _, rec in otlp.received]
    assert sorted(got) == sorted(raws) and len(got) == 30  # nothing lost, nothing twice
    rows = await outbox(database)
    assert len(rows) == 30
    assert max(attempts for _, _, attempts in rows) > 1


async def test_retry_after_is_honoured_5xx_retried_and_403_fails_without_retrying(
        prepared: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, database: Database,
        postgres_log: PostgresLog) -> None:
    clock = FakeClock(datetime.now(UTC))
    with receiver("splunk", "hec-token-1") as r:
        forwarding: Forwarding = await prepared(clock=clock, delivery=DeliveryConfig(
            retry_initial_s=0.01, retry_max_s=300, max_attempts=5))
        acme = await tenant()
        await forwarding.api.create_destination(acme.org.org_id, "hec", "splunk_hec",
                                                {"url": r.url, "token": "hec-token-1"}, ACTOR)
        other = await tenant()
        await forwarding.api.create_destination(other.org.org_id, "hec", "splunk_hec",
                                                {"url": r.url, "token": "wrong"}, ACTOR)
        r.script = [(429, b'{"text":"Server is busy","code":9}', {"retry-after": "120"}),
                    (503, b'{"text":"Server is busy","code":9}', {})]
        await push(sync_client, acme, synthetic_records(2))
        await consume(forwarding, postgres_log)
        assert await _pending(database, 2)
        assert await forwarding.deliveries.deliver_due() == 2
        assert r.answers[-1][0] == 429
        assert await forwarding.deliveries.deliver_due() == 0  # Retry-After: 120 s not yet passed
        clock.advance(seconds=119)
        assert await forwarding.deliveries.deliver_due() == 0
        clock.advance(seconds=2)
        assert await forwarding.deliveries.deliver_due() == 2 and r.answers[-1][0] == 503
        clock.advance(seconds=1)
        assert await forwarding.deliveries.deliver_due() == 2 and r.answers[-1][0] == 200
        assert len(r.received) == 2 and {s for _, s, _ in await outbox(database)} == {"delivered"}

        # a wrong token: 403, failed at once, not retried
        await push(sync_client, other, synthetic_records(1, seed=9))
        await consume(forwarding, postgres_log)
        assert await _pending(database, 1)
        assert await forwarding.deliveries.deliver_due() == 1
        assert r.answers[-1] == (403, b'{"text": "Invalid token", "code": 4}', {"content-type": "application/json"})
        clock.advance(seconds=3600)
        assert await forwarding.deliveries.deliver_due() == 0
        [line] = await forwarding.api.deliveries(other.org.org_id)
        assert (line.outcome, line.http_status, line.attempts) == ("failed", 403, 1)
        assert "Invalid token" in line.error


async def _pending(database: Database, n: int) -> bool:
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT count(*) FROM forwarding_outbox WHERE state = 'pending'")
        row = await cur.fetchone()
    return row is not None and int(row[0]) == n


async def test_413_splits_the_batch_and_elastic_item_results_are_honoured(
        prepared: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, database: Database,
        postgres_log: PostgresLog) -> None:
    with receiver("elastic", "a2V5") as r:
        forwarding: Forwarding = await prepared()
        acme = await tenant()
        await forwarding.api.create_destination(acme.org.org_id, "es", "elastic", {"url": r.url, "api_key": "a2V5"},
                                                ACTOR)
        raws = synthetic_records(4)
        first = json.loads(raws[0])
        r.ids.add(f"faramesh-dpr/{acme.stack.stack_id}:{first['record_id']}")  # landed before (a retried batch)
        r.script = [(413, b'{"error":"Request Entity Too Large","status":413}', {})]
        await push(sync_client, acme, raws)
        await consume(forwarding, postgres_log)
        assert await forwarding.deliveries.deliver_due() == 4
        sizes = [body.count(b"\n") // 2 for _, _, body in r.requests]
        assert sizes == [4, 2, 2]  # refused whole, then two halves
        assert len(r.received) == 3  # the fourth was there already: 409 counts as delivered
        assert {s for _, s, _ in await outbox(database)} == {"delivered"}


async def test_organisations_are_isolated(start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient,
                                          database: Database) -> None:
    with receiver("otlp", "Bearer a") as ra, receiver("otlp", "Bearer b") as rb:
        forwarding: Forwarding = await start()
        a, b = await tenant(), await tenant()
        da = await forwarding.api.create_destination(a.org.org_id, "a", "otlp",
                                                     {"url": ra.url, "headers": "authorization=Bearer a"}, ACTOR)
        await forwarding.api.create_destination(b.org.org_id, "b", "otlp",
                                                {"url": rb.url, "headers": "authorization=Bearer b"}, ACTOR)
        raws_a, raws_b = synthetic_records(3, seed=1), synthetic_records(2, seed=2)
        await push(sync_client, a, raws_a)
        await push(sync_client, b, raws_b)
        await eventually(lambda: len(ra.received) == 3 and len(rb.received) == 2, "each its own", within_s=30)
        assert sorted(rec.body.string_value.encode() for _, rec in ra.received) == sorted(raws_a)
        assert sorted(rec.body.string_value.encode() for _, rec in rb.received) == sorted(raws_b)
        assert [d.name for d in await forwarding.api.destinations(b.org.org_id)] == ["b"]
        with pytest.raises(LookupError):
            await forwarding.api.destination(b.org.org_id, da.destination_id)
        with pytest.raises(LookupError):
            await forwarding.api.delete_destination(b.org.org_id, da.destination_id, ACTOR)
        assert [line.destination for line in await forwarding.api.deliveries(b.org.org_id)] == ["b"]


async def test_a_redelivered_batch_queues_nothing_twice(
        start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, database: Database,
        postgres_log: PostgresLog) -> None:
    forwarding: Forwarding = await start(send_interval_s=3600)
    acme = await tenant()
    await forwarding.api.create_destination(acme.org.org_id, "c", "otlp", {"url": "http://127.0.0.1:9"}, ACTOR)
    await push(sync_client, acme, synthetic_records(6))
    await eventually(lambda: _pending(database, 6), "six rows", within_s=30)
    counts_before = await _counts(database)
    messages = await read_topic(postgres_log, DPR_RECORDS)
    rows = [ForwardProcessor().process(m) for m in messages]
    sink = forwarding.sink()
    await sink.write(rows)  # type: ignore[arg-type]  # the whole batch again (a redelivery)
    assert len(await outbox(database)) == 6
    assert await _counts(database) == counts_before == {(acme.stack.stack_id, e): n for e, n in _effects(messages)}


async def _counts(database: Database) -> dict[tuple[str, str], int]:
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT stack_id, effect, sum(count) FROM forwarding_decision_counts "
                                 "GROUP BY stack_id, effect")
        return {(str(s), str(e)): int(n) for s, e, n in await cur.fetchall()}


def _effects(messages: list[Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for m in messages:
        effect = json.loads(m.value)["effect"]
        counts[effect] = counts.get(effect, 0) + 1
    return sorted(counts.items())


async def test_decision_metrics_reach_datadog_series_and_otlp_sums(
        start: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, otlp: Receiver) -> None:
    with receiver("datadog", DD_KEY) as dd:
        forwarding: Forwarding = await start(endpoints=Endpoints(datadog_logs=dd.url, datadog_api=dd.url))
        acme = await tenant()
        await forwarding.api.create_destination(acme.org.org_id, "dd", "datadog", {"api_key": DD_KEY}, ACTOR,
                                                forward_dprs=False)
        await forwarding.api.create_destination(acme.org.org_id, "otel", "otlp",
                                                {"url": otlp.url, "headers": "authorization=Bearer s3cret"}, ACTOR,
                                                forward_dprs=False)
        raws = synthetic_records(12)
        await push(sync_client, acme, raws)
        expected: dict[tuple[int, str], int] = {}
        for raw in raws:
            dpr = json.loads(raw)
            minute = created_at_nanos(dpr["created_at"]) // 10**9 // 60 * 60
            expected[(minute, dpr["effect"])] = expected.get((minute, dpr["effect"]), 0) + 1

        async def counted() -> bool:
            return sum((await _counts(forwarding._db)).values()) == 12

        await eventually(counted, "twelve decisions counted", within_s=30)
        assert await forwarding.metrics.run_once() == 2 * len(expected)  # one point per minute and effect, each
        assert await forwarding.metrics.run_once() == 0  # queued once
        forwarding.wake()
        await eventually(lambda: len(dd.received) == len(expected) and len(otlp.received) >= 1, "the points",
                         within_s=30)
        assert {p for p, _, _ in dd.requests} == {"/api/v2/series"}
        got = {(s["points"][0]["timestamp"], next(t[7:] for t in s["tags"] if t.startswith("effect:"))):
               s["points"][0]["value"] for s in dd.received}
        assert got == expected and {s["type"] for s in dd.received} == {1}
        sums = {}
        for _, metric in otlp.received:
            assert metric.name == "faramesh.decisions" and metric.sum.is_monotonic
            for dp in metric.sum.data_points:
                sums[(dp.start_time_unix_nano // 10**9, dp.attributes[0].value.string_value)] = dp.as_int
        assert sums == expected


async def test_destinations_are_checked_and_private_addresses_refused_unless_allowed(
        start: Callable[..., Any], tenant: MakeTenant, database: Database) -> None:
    forwarding: Forwarding = await start(allow_private=False)
    acme = await tenant()
    org = acme.org.org_id
    with pytest.raises(InvalidForwarding, match="loopback"):
        await forwarding.api.create_destination(org, "x", "otlp", {"url": "https://127.0.0.1:4318"}, ACTOR)
    with pytest.raises(InvalidForwarding, match="unknown Datadog site"):
        await forwarding.api.create_destination(org, "x", "datadog", {"site": "evil.example", "api_key": "k"}, ACTOR)
    with pytest.raises(InvalidForwarding, match="instance ID is a number"):
        await forwarding.api.create_destination(org, "x", "grafana_otlp", {
            "url": "https://1.1.1.1/otlp", "instance_id": "abc", "token": "t"}, ACTOR)
    with pytest.raises(InvalidForwarding, match="unknown destination kind"):
        await forwarding.api.create_destination(org, "x", "graphite", {}, ACTOR)
    made = await forwarding.api.create_destination(org, "dd", "datadog", {"api_key": DD_KEY}, ACTOR)
    with pytest.raises(InvalidForwarding, match="exists already") as conflict:
        await forwarding.api.create_destination(org, "dd", "datadog", {"api_key": DD_KEY}, ACTOR)
    assert conflict.value.code == "conflict"
    assert made.config == {"site": "datadoghq.com", "key_hint": DD_KEY[-4:]}
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT secret FROM forwarding_destinations WHERE destination_id = %s",
                                 (made.destination_id,))
        row = await cur.fetchone()
    assert row is not None and DD_KEY.encode() not in bytes(row[0])  # sealed
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT action, details FROM platform_audit_log WHERE org_id = %s ORDER BY seq",
                                 (org,))
        entries = [(a, d) for a, d in await cur.fetchall()]
    assert [a for a, _ in entries] == ["org:forwarding:create"]
    assert DD_KEY not in json.dumps(entries[0][1])



async def test_the_delivery_log_is_pruned_and_pending_items_are_kept(
        prepared: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, database: Database,
        postgres_log: PostgresLog) -> None:
    clock = FakeClock(datetime.now(UTC))
    with receiver("otlp", "Bearer a") as up, receiver("otlp", "Bearer b") as refusing:
        forwarding: Forwarding = await prepared(clock=clock, delivery=DeliveryConfig(
            retry_initial_s=3600, retry_max_s=3600, max_attempts=100, retention_s=86400))
        acme = await tenant()
        await forwarding.api.create_destination(acme.org.org_id, "up", "otlp",
                                                {"url": up.url, "headers": "authorization=Bearer a"}, ACTOR)
        await forwarding.api.create_destination(acme.org.org_id, "down", "otlp",
                                                {"url": refusing.url, "headers": "authorization=Bearer b"}, ACTOR)
        refusing.script = [(503, b"", {})] * 10
        await push(sync_client, acme, synthetic_records(3))
        await consume(forwarding, postgres_log)
        assert await forwarding.deliveries.deliver_due() == 6
        assert sorted(s for _, s, _ in await outbox(database)) == ["delivered"] * 3 + ["pending"] * 3
        assert await forwarding.deliveries.prune() == 0  # nothing old yet
        clock.advance(hours=25)
        assert await forwarding.deliveries.prune() == 3 + 2  # three delivered rows, two log lines
        assert [s for _, s, _ in await outbox(database)] == ["pending"] * 3  # still owed: kept
        assert await forwarding.api.deliveries(acme.org.org_id) == []


async def test_a_minute_is_sent_only_once_it_is_closed_and_late_dprs_add_a_delta(
        prepared: Callable[..., Any], tenant: MakeTenant, database: Database) -> None:
    forwarding: Forwarding = await prepared()
    acme = await tenant()
    await forwarding.api.create_destination(acme.org.org_id, "c", "otlp", {"url": "http://127.0.0.1:9"}, ACTOR,
                                            forward_dprs=False)
    now = datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    async with database.transaction() as conn:
        await conn.execute("INSERT INTO forwarding_decision_counts (org_id, stack_id, minute, effect, count) VALUES "
                           "(%s, 's', %s, 'deny', 3)", (acme.org.org_id, minute))
    assert await forwarding.metrics.run_once() == 0  # the minute is still open
    async with database.transaction() as conn:
        await conn.execute("UPDATE forwarding_decision_counts SET minute = minute - interval '5 minutes'")
        cur = await conn.execute("SELECT minute FROM forwarding_decision_counts")
        [(closed,)] = await cur.fetchall()
    assert await forwarding.metrics.run_once() == 1
    async with database.transaction() as conn:
        await conn.execute("UPDATE forwarding_decision_counts SET count = count + 2")  # two late DPRs
    assert await forwarding.metrics.run_once() == 1
    async with database.transaction() as conn:
        cur = await conn.execute("SELECT payload FROM forwarding_outbox WHERE item_kind = 'metrics' ORDER BY id")
        points = [json.loads(p) for (p,) in await cur.fetchall()]
    assert points == [{"minute": int(closed.timestamp()), "effect": "deny", "count": 3, "seq": 0},
                      {"minute": int(closed.timestamp()), "effect": "deny", "count": 2, "seq": 3}]


async def test_a_new_destination_is_not_sent_the_history_a_replay_reads_again(
        prepared: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, database: Database,
        postgres_log: PostgresLog) -> None:
    forwarding: Forwarding = await prepared()
    acme = await tenant()
    await push(sync_client, acme, synthetic_records(4, seed=3))
    await consume(forwarding, postgres_log)
    await forwarding.api.create_destination(acme.org.org_id, "late", "otlp", {"url": "http://127.0.0.1:9"}, ACTOR)
    async with database.transaction() as conn:
        await conn.execute("DELETE FROM forwarding_positions")  # a replay from offset 0 (a rebuilt database)
    await consume(forwarding, postgres_log)
    assert await outbox(database) == []  # received before the destination existed
    await push(sync_client, acme, synthetic_records(2, seed=4))
    await consume(forwarding, postgres_log)
    assert len(await outbox(database)) == 2  # only what came after


async def test_legacy_decision_summaries_are_forwarded_marked_unverified_and_not_counted(
        start: Callable[..., Any], tenant: MakeTenant, database: Database, postgres_log: PostgresLog) -> None:
    with receiver("splunk", "hec-token-1") as r:
        forwarding: Forwarding = await start()
        acme = await tenant()
        await forwarding.api.create_destination(acme.org.org_id, "hec", "splunk_hec",
                                                {"url": r.url, "token": "hec-token-1"}, ACTOR)
        decided = time.time_ns()
        events = [LegacyDecision(source=SOURCE_HORIZON, effect="deny", timestamp="2026-01-01T10:00:00+02:00",
                                 decided_at_ns=decided + i, record_id=f"rec-{i}", agent_id="bot", tool_id="shell")
                  for i in range(3)]
        origin = Origin(acme.org.org_id, acme.stack.stack_id, SOURCE_HORIZON, 1, "req", time.time_ns())
        await postgres_log.append(LEGACY_DECISIONS, [
            LogRecord(stack_key(acme.org.org_id, acme.stack.stack_id), e.to_json(), origin.headers()) for e in events])
        await eventually(lambda: len(r.received) == 3, "three summaries at Splunk", within_s=30)
        assert [e["event"]["record_id"] for e in r.received] == ["rec-0", "rec-1", "rec-2"]
        assert {e["event"]["verification"] for e in r.received} == {"unverified (legacy feed)"}
        assert {e["sourcetype"] for e in r.received} == {"faramesh:legacy"}
        assert r.received[0]["time"] == decided / 1e9
        assert await _counts(database) == {}  # summaries are forwarded, not counted


PRODUCTS = {  # product: (kind, fields, receiver secret)
    "datadog": ("datadog", {"api_key": DD_KEY}, DD_KEY),
    "splunk": ("splunk_hec", {"token": "hec-token-1"}, "hec-token-1"),
    "elastic": ("elastic", {"api_key": "a2V5"}, "a2V5"),
    "otlp": ("otlp", {"headers": "authorization=Bearer s3cret"}, "Bearer s3cret"),
}


@pytest.mark.parametrize(("product", "status", "retried"), [
    *[(p, s, True) for p in PRODUCTS for s in (429, 503)],
    *[(p, s, False) for p in PRODUCTS for s in (400, 403)],
    ("datadog", 500, True), ("splunk", 500, True), ("elastic", 500, True),
    ("otlp", 500, False),  # the OTLP specification retries 429, 502, 503 and 504 only
    ("otlp", 502, True), ("otlp", 504, True),
])
async def test_each_products_error_answers_are_retried_or_failed(
        product: str, status: int, retried: bool, prepared: Callable[..., Any], tenant: MakeTenant,
        sync_client: MakeClient, database: Database, postgres_log: PostgresLog) -> None:
    kind, fields, secret = PRODUCTS[product]
    clock = FakeClock(datetime.now(UTC))
    with receiver(product, secret) as r:
        forwarding: Forwarding = await prepared(
            clock=clock, endpoints=Endpoints(datadog_logs=r.url, datadog_api=r.url),
            delivery=DeliveryConfig(retry_initial_s=10, retry_max_s=10, max_attempts=5))
        acme = await tenant()
        url = {} if product == "datadog" else {"url": r.url}
        await forwarding.api.create_destination(acme.org.org_id, product, kind, {**fields, **url}, ACTOR,
                                                forward_metrics=False)
        r.script = [(status, b'{"error":"scripted"}', {})]
        await push(sync_client, acme, synthetic_records(2))
        await consume(forwarding, postgres_log)
        assert await forwarding.deliveries.deliver_due() == 2
        clock.advance(seconds=30)
        assert await forwarding.deliveries.deliver_due() == (2 if retried else 0)
        states = {s for _, s, _ in await outbox(database)}
        assert states == ({"delivered"} if retried else {"failed"})
        assert len(r.received) == (2 if retried else 0)
        [*_, first] = await forwarding.api.deliveries(acme.org.org_id)  # newest first: the first is last
        assert (first.outcome, first.http_status) == ("retrying" if retried else "failed", status)


async def test_one_organisations_backlog_does_not_hold_another_back(
        prepared: Callable[..., Any], tenant: MakeTenant, sync_client: MakeClient, database: Database,
        postgres_log: PostgresLog) -> None:
    with receiver("otlp", "Bearer a") as ra, receiver("otlp", "Bearer b") as rb:
        forwarding: Forwarding = await prepared(delivery=DeliveryConfig(claim=40, per_destination=30, batch=30))
        busy, quiet = await tenant(), await tenant()
        await forwarding.api.create_destination(busy.org.org_id, "a", "otlp",
                                                {"url": ra.url, "headers": "authorization=Bearer a"}, ACTOR)
        await forwarding.api.create_destination(quiet.org.org_id, "b", "otlp",
                                                {"url": rb.url, "headers": "authorization=Bearer b"}, ACTOR)
        await push(sync_client, busy, synthetic_records(100, seed=5))  # queued first: older
        await consume(forwarding, postgres_log)
        await push(sync_client, quiet, synthetic_records(3, seed=6))
        await consume(forwarding, postgres_log)
        assert await forwarding.deliveries.deliver_due() == 33  # a batch of the busy one, and the quiet one's
        assert len(rb.received) == 3 and len(ra.received) == 30
        while await forwarding.deliveries.deliver_due():
            pass
        assert len(ra.received) == 100


async def test_a_malformed_or_unknown_org_header_is_dead_lettered_and_blocks_nothing(
        start: Callable[..., Any], tenant: MakeTenant, database: Database, postgres_log: PostgresLog) -> None:
    """A record whose ``org`` header is not an organisation id, or names no organisation,
    cannot go into the tables keyed to ``orgs``: it is parked on the dead-letter topic with
    the reason, and the records behind it on the same partition are forwarded."""
    forwarding: Forwarding = await start(send_interval_s=3600)
    acme = await tenant()
    await forwarding.api.create_destination(acme.org.org_id, "c", "otlp", {"url": "http://127.0.0.1:9"}, ACTOR)
    raws = synthetic_records(4, seed=11)
    stranger = str(uuid.uuid4())
    origins = [Origin(org, acme.stack.stack_id, "sync", seq, "b", time.time_ns()) for seq, org in enumerate(
        [acme.org.org_id, "not-an-org", stranger, acme.org.org_id], start=1)]
    key = stack_key(acme.org.org_id, acme.stack.stack_id)  # one partition: the strays are in front
    await postgres_log.append(DPR_RECORDS, [LogRecord(key, raw, origin.headers())
                                            for raw, origin in zip(raws, origins, strict=True)])

    await eventually(lambda: _pending(database, 2), "the two good records queued", within_s=30)
    assert {key.rsplit("/", 1)[1] for key, _, _ in await outbox(database)} == {
        json.loads(raws[0])["record_id"], json.loads(raws[3])["record_id"]}
    assert await _counts(database) == {(acme.stack.stack_id, e): n for e, n in _effects_of([raws[0], raws[3]])}
    parked = await read_topic(postgres_log, DEAD_LETTERS)
    assert [m.value for m in parked] == [raws[1], raws[2]]
    reasons = [m.headers["dlq-reason"].decode() for m in parked]
    assert "'not-an-org'" in reasons[0] and "not an organisation id" in reasons[0]
    assert stranger in reasons[1] and "no such organisation" in reasons[1]
    assert {m.headers["dlq-topic"] for m in parked} == {DPR_RECORDS.encode()}


def _effects_of(raws: list[bytes]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for raw in raws:
        effect = json.loads(raw)["effect"]
        counts[effect] = counts.get(effect, 0) + 1
    return sorted(counts.items())

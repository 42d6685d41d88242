"""Trace context travels on the log, on every adapter (memory, PostgreSQL, Kafka): with
OpenTelemetry on, an append is a PRODUCER span whose W3C context is written into each
record's ``traceparent`` header, and the consumer runner's batch span continues that trace
(child of its first record's context, linked to the others) with the sink's span inside it.
Off, records carry no trace header and the runner makes no span."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from faramesh_cloud.consumer.runner import ConsumerRunner, Rejected, RunnerConfig
from faramesh_cloud.log.port import Log, LogRecord, Message, SharedHeaders
from faramesh_cloud.observability import catalogue
from faramesh_cloud.observability.setup import Telemetry, activated, build
from faramesh_cloud.observability.traced_log import TracedLog

FOREIGN = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"  # a record from elsewhere


class Headers:
    def process(self, message: Message) -> dict[str, bytes]:
        return dict(message.headers)


class Collect:
    def __init__(self) -> None:
        self.rows: list[dict[str, bytes]] = []

    async def write(self, rows: Sequence[dict[str, bytes]]) -> None:
        self.rows.extend(rows)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def telemetry(spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> Iterator[Telemetry]:
    made = build("test", SimpleSpanProcessor(spans), reader)
    with activated(made):
        yield made
    made.shutdown()


async def _consume(log: Log, topic: str, group: str, count: int) -> list[dict[str, bytes]]:
    sink = Collect()
    runner = ConsumerRunner(log, topic, group, Headers(), sink, RunnerConfig(max_batch_seconds=0.2, poll_timeout_s=0.1))
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(30):
            while len(sink.rows) < count:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
    return sink.rows


def _records() -> list[LogRecord]:
    shared = {"org": b"o1", "source": b"sync"}  # one push: one shared part, own sequences
    return [*(LogRecord(b"o1/s1", b"v%d" % n, SharedHeaders(shared, {"sequence": b"%d" % n})) for n in (1, 2, 3)),
            LogRecord(b"o1/s1", b"dead", {"traceparent": FOREIGN, "dlq-reason": b"bad"})]


async def test_an_append_s_trace_continues_in_the_consumer_and_its_sink(
        log: Log, telemetry: Telemetry, spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> None:
    topic, group = f"traced-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    traced = TracedLog(log, telemetry.tracer, "test")
    await traced.create_topic(topic, 1)
    with telemetry.tracer.start_as_current_span("push") as push:
        await traced.append(topic, _records())
    rows = await _consume(traced, topic, group, 4)

    trace_id = f"{push.get_span_context().trace_id:032x}"
    (publish,) = [s for s in spans.get_finished_spans() if s.name == f"publish {topic}"]
    assert publish.kind is SpanKind.PRODUCER and publish.parent is not None
    assert publish.parent.span_id == push.get_span_context().span_id
    publish_id = f"{publish.context.span_id:016x}"
    for n, row in enumerate(rows[:3], start=1):
        assert row["traceparent"].split(b"-")[:3] == [b"00", trace_id.encode(), publish_id.encode()]
        assert row["org"] == b"o1" and row["sequence"] == b"%d" % n  # every other header kept
    assert rows[3]["traceparent"] == FOREIGN and rows[3]["dlq-reason"] == b"bad"  # its own origin kept

    (batch,) = [s for s in spans.get_finished_spans() if s.name == f"process {topic}"]
    (sink,) = [s for s in spans.get_finished_spans() if s.name == f"sink {group}"]
    assert batch.kind is SpanKind.CONSUMER and batch.parent is not None
    assert batch.parent.span_id == publish.context.span_id and batch.context.trace_id == publish.context.trace_id
    assert [f"{link.context.trace_id:032x}" for link in batch.links] == [FOREIGN.split(b"-")[1].decode()]
    assert _parent(sink) == batch.context.span_id
    assert batch.attributes is not None and batch.attributes["messaging.consumer.group.name"] == group

    committed = _sum(reader, catalogue.CONSUMER_MESSAGES.name, {"topic": topic, "group": group})
    assert committed == 4


async def test_off_nothing_is_traced(log: Log, spans: InMemorySpanExporter) -> None:
    topic, group = f"plain-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
    await log.create_topic(topic, 1)
    await log.append(topic, _records()[:3])
    rows = await _consume(log, topic, group, 3)
    assert all("traceparent" not in row for row in rows)
    assert spans.get_finished_spans() == ()


def _gauge(reader: InMemoryMetricReader, name: str, attributes: dict[str, str]) -> float | None:
    data = reader.get_metrics_data()
    values = [point.value for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics
              for m in sm.metrics if m.name == name for point in m.data.data_points
              if dict(point.attributes or {}) == attributes]
    return values[-1] if values else None


def _parent(span: ReadableSpan) -> int | None:
    return None if span.parent is None else span.parent.span_id


def _sum(reader: InMemoryMetricReader, name: str, attributes: dict[str, str]) -> float:
    data = reader.get_metrics_data()
    assert data is not None
    return sum(point.value for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
               if m.name == name for point in m.data.data_points if dict(point.attributes or {}) == attributes)


class RejectBad:
    def process(self, message: Message) -> bytes | Rejected:
        return Rejected("bad value") if message.value == b"bad" else message.value


class FailsOnce:
    def __init__(self) -> None:
        self.rows: list[bytes] = []
        self.failed = False
        self.held: asyncio.Event | None = None  # set: writes wait for it (their batch stays uncommitted)

    async def write(self, rows: Sequence[bytes]) -> None:
        if self.held is not None:
            await self.held.wait()
        if not self.failed:
            self.failed = True
            raise ConnectionError("the store blinked")
        self.rows.extend(rows)


async def test_dead_letters_retries_and_lag_are_measured(
        log: Log, telemetry: Telemetry, reader: InMemoryMetricReader, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "1000")  # lag re-measured every second
    topic, group, dlq = (f"{p}-{uuid.uuid4().hex[:8]}" for p in ("counted", "g", "dlq"))
    for name in (topic, dlq):
        await log.create_topic(name, 1)
    await log.append(topic, [LogRecord(b"k", v) for v in (b"a", b"bad", b"c")])
    sink = FailsOnce()
    runner = ConsumerRunner(log, topic, group, RejectBad(), sink, RunnerConfig(
        max_batch_seconds=0.2, poll_timeout_s=0.1, retry_initial_s=0.01, dead_letter_topic=dlq))
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        async with asyncio.timeout(30):
            while runner.stats.messages < 3:
                await asyncio.sleep(0.05)
            lag = {"topic": topic, "group": group, "partition": "0"}
            while _gauge(reader, catalogue.CONSUMER_LAG.name, lag) != 0:  # all 3 committed
                await asyncio.sleep(0.1)
            held = sink.held = asyncio.Event()  # the next batch is read, its write held: not committed
            await log.append(topic, [LogRecord(b"k", b"late")])
            while _gauge(reader, catalogue.CONSUMER_LAG.name, lag) != 1:
                await asyncio.sleep(0.1)
            held.set()
    finally:
        stop.set()
        await task
    attributes = {"topic": topic, "group": group}
    assert _sum(reader, catalogue.DEAD_LETTERS.name, attributes) == 1
    assert _sum(reader, catalogue.RETRIES.name, {**attributes, "operation": "sink write"}) == 1
    assert sink.rows == [b"a", b"c", b"late"]

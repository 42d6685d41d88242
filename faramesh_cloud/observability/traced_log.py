"""TracedLog: any :class:`~faramesh_cloud.log.port.Log` with a PRODUCER span per append and
the W3C trace context written into each record's headers (what the runtime gives every
service when OpenTelemetry is on; off, services get the adapter itself, untouched).

The span is a child of the caller's current span (ingest: the gRPC ``Push`` server span; an
outbox relay: none, so the append starts a trace), and its context is what the records
carry. A record that already has a ``traceparent`` (a dead-letter copy of a consumed message)
keeps it: it names where that record came from. Headers shared by every record of a push
(:class:`~faramesh_cloud.log.port.SharedHeaders`) get the context once, in a new shared part,
so an adapter still encodes the shared part once per append."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opentelemetry.trace import SpanKind, Tracer

from faramesh_cloud.log.port import (
    AfterAppend,
    Consumer,
    Log,
    LogRecord,
    Position,
    SharedHeaders,
    TopicRecords,
)
from faramesh_cloud.observability.propagation import TRACEPARENT, context_headers


def with_context(records: Sequence[LogRecord], trace: Mapping[str, bytes]) -> list[LogRecord]:
    """``records`` with ``trace`` added to the headers of each that has no ``traceparent``."""
    shared: dict[int, dict[str, bytes]] = {}
    out: list[LogRecord] = []
    for record in records:
        headers = record.headers
        if TRACEPARENT in headers:
            out.append(record)
        elif isinstance(headers, SharedHeaders) and not (trace.keys() & headers.own.keys()):
            part = shared.get(id(headers.shared))
            if part is None:
                part = shared[id(headers.shared)] = {**headers.shared, **trace}
            out.append(LogRecord(record.key, record.value, SharedHeaders(part, headers.own)))
        else:
            out.append(LogRecord(record.key, record.value, {**headers, **trace}))
    return out


class TracedLog:
    """A Log that traces appends and injects their context; everything else passes through."""

    def __init__(self, inner: Log, tracer: Tracer, system: str) -> None:
        self.inner = inner
        self._tracer = tracer
        self._system = system  # messaging.system: "kafka" or "postgresql"

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def create_topic(self, topic: str, partitions: int) -> None:
        await self.inner.create_topic(topic, partitions)

    async def partitions(self, topic: str) -> int:
        return await self.inner.partitions(topic)

    async def append(self, topic: str, records: Sequence[LogRecord]) -> list[Position]:
        return (await self.append_all([(topic, records)]))[0]

    async def append_all(self, appends: Sequence[TopicRecords],
                         after: AfterAppend | None = None) -> list[list[Position]]:
        topics = sorted({topic for topic, _ in appends})
        name = f"publish {topics[0]}" if len(topics) == 1 else "publish"
        count = sum(len(records) for _, records in appends)
        with self._tracer.start_as_current_span(name, kind=SpanKind.PRODUCER, attributes={
            "messaging.system": self._system, "messaging.operation.type": "send",
            "messaging.destination.name": ",".join(topics), "messaging.batch.message_count": count,
        }):
            trace = context_headers()
            traced = [(topic, with_context(records, trace)) for topic, records in appends]
            return await self.inner.append_all(traced, after)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return await self.inner.end_offsets(topic)

    async def consumer(self, topic: str, group: str) -> Consumer:
        return await self.inner.consumer(topic, group)

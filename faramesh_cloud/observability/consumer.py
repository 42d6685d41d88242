"""What the consumer runner reports when OpenTelemetry is on (built once per runner, at
``run``; None when off, and then the runner does nothing of this).

* A CONSUMER span per batch, ``process <topic>``, covering its dead-letter append, sink write
  and commit: the child of the batch's first record's trace context (from its
  ``traceparent`` header), linked to the other distinct contexts of the batch (at most
  ``MAX_LINKS``), so a push's trace runs from ingest through every consumer of its records.
  Inside it, an INTERNAL span ``sink <group>`` around the sink's write.
* Counters: messages committed, dead letters, retries; the lag per partition this member
  holds (end offset - committed), refreshed every ``lag_interval_s`` by a task of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind

from faramesh_cloud.log.port import Consumer, Log, Message
from faramesh_cloud.observability import catalogue
from faramesh_cloud.observability.propagation import TRACEPARENT, extract
from faramesh_cloud.observability.setup import Telemetry, current

MAX_LINKS: Final = 128

_log = logging.getLogger(__name__)


def lag_interval_s() -> float:
    """How often lag is refreshed: the metric export interval, between 1 and 15 seconds."""
    try:
        export_ms = float(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "60000"))
    except ValueError:
        export_ms = 60000.0
    return min(15.0, max(1.0, export_ms / 1000))


class RunnerTelemetry:
    def __init__(self, telemetry: Telemetry, log: Log, topic: str, group: str) -> None:
        self._telemetry = telemetry
        self._log = log
        self.topic = topic
        self.group = group
        self._attributes = {"topic": topic, "group": group}
        self._committed: dict[int, int] = {}
        self._lag: dict[int, int] = {}
        telemetry.lag_sources.append(self._lag_observations)

    @classmethod
    def for_runner(cls, log: Log, topic: str, group: str) -> RunnerTelemetry | None:
        telemetry = current()
        return None if telemetry is None else cls(telemetry, log, topic, group)

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            self._telemetry.lag_sources.remove(self._lag_observations)

    @contextlib.contextmanager
    def batch(self, messages: Sequence[Message]) -> Iterator[Span]:
        parent = None
        links: list[Link] = []
        seen: set[bytes] = set()
        for message in messages:
            raw = message.headers.get(TRACEPARENT)
            if raw is None or raw in seen:
                continue
            seen.add(raw)
            context = extract(message.headers)
            if context is None:
                continue
            if parent is None:
                parent = context
            elif len(links) < MAX_LINKS:
                links.append(Link(trace.get_current_span(context).get_span_context()))
        with self._telemetry.tracer.start_as_current_span(
            f"process {self.topic}", context=parent, kind=SpanKind.CONSUMER, links=links, attributes={
                "messaging.operation.type": "process", "messaging.destination.name": self.topic,
                "messaging.consumer.group.name": self.group, "messaging.batch.message_count": len(messages),
            },
        ) as span:
            yield span

    @contextlib.contextmanager
    def sink(self, rows: int) -> Iterator[Span]:
        with self._telemetry.tracer.start_as_current_span(
            f"sink {self.group}", kind=SpanKind.INTERNAL,
            attributes={"faramesh.sink.rows": rows, "messaging.consumer.group.name": self.group},
        ) as span:
            yield span

    def committed(self, offsets: dict[int, int], messages: int, dead_letters: int) -> None:
        self._committed.update(offsets)
        self._telemetry.add(catalogue.CONSUMER_MESSAGES, messages, self._attributes)
        if dead_letters:
            self._telemetry.add(catalogue.DEAD_LETTERS, dead_letters, self._attributes)

    def retried(self, operation: str) -> None:
        self._telemetry.add(catalogue.RETRIES, 1, {**self._attributes, "operation": operation})

    async def watch_lag(self, consumer: Consumer, stop: asyncio.Event) -> None:
        """Refresh this member's lag until ``stop`` (or cancellation)."""
        interval = lag_interval_s()
        while not stop.is_set():
            try:
                ends = await self._log.end_offsets(self.topic)
                lag: dict[int, int] = {}
                assigned = await consumer.assignment()
                for partition in set(self._committed) - assigned:  # another member's now: re-read if it returns
                    del self._committed[partition]
                for partition in assigned:
                    committed = self._committed.get(partition)
                    if committed is None:
                        committed = self._committed[partition] = await consumer.committed(partition) or 0
                    lag[partition] = max(0, ends.get(partition, 0) - committed)
                self._lag.clear()
                self._lag.update(lag)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                _log.debug("lag of %s/%s not measured: %s", self.topic, self.group, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    def _lag_observations(self) -> Iterable[tuple[int, dict[str, str]]]:
        for partition, lag in list(self._lag.items()):
            yield lag, {**self._attributes, "partition": str(partition)}

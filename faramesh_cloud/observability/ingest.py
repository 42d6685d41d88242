"""What ingest reports per Push when OpenTelemetry is on (None when off: one test per push).

Records and bytes per stack, dead letters, the acknowledgement latency, and the stack and
item count on the Push's server span (the gRPC instrumentation's)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from opentelemetry import trace

from faramesh_cloud.events.topics import DEAD_LETTERS
from faramesh_cloud.observability import catalogue
from faramesh_cloud.observability.setup import Telemetry, current


class IngestTelemetry:
    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    @classmethod
    def for_process(cls) -> IngestTelemetry | None:
        telemetry = current()
        return None if telemetry is None else cls(telemetry)

    def pushed(self, org_id: str, stack_id: str, appends: Mapping[str, Sequence[object]], nbytes: int,
               started: float) -> None:
        """A Push answered: ``appends`` what it appended per topic (empty: nothing new)."""
        t = self._telemetry
        stack = {"org_id": org_id, "stack_id": stack_id}
        count = 0
        for topic, records in appends.items():
            count += len(records)
            t.add(catalogue.INGEST_RECORDS, len(records), {**stack, "topic": topic})
            if topic == DEAD_LETTERS:
                t.add(catalogue.DEAD_LETTERS, len(records), {"topic": "sync", "group": "ingest"})
        if count:
            t.add(catalogue.INGEST_BYTES, nbytes, stack)
        t.record(catalogue.ACK_LATENCY, time.perf_counter() - started,
                 {"outcome": "appended" if count else "nothing_new"})
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes({"faramesh.org_id": org_id, "faramesh.stack_id": stack_id,
                                 "faramesh.push.appended": count, "faramesh.push.bytes": nbytes})

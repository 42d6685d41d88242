"""Every metric Cloud emits: its OTel name, kind, unit and attributes, and the name it has in
Prometheus once an OpenTelemetry collector exports it there (the documented path to the
operations dashboard). Pure data: docs/observability.md and the dashboard's test read it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Kind(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"  # observable: read when the exporter collects


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: Kind
    unit: str
    description: str
    attributes: tuple[str, ...]

    @property
    def prometheus(self) -> str:
        """The exported name: dots to underscores, the unit appended (UCUM to Prometheus base
        units; annotations like ``{record}`` dropped) unless the name ends with it already, and
        ``_total`` for a counter (the OTel → Prometheus compatibility rules the collector's
        ``prometheus`` exporter applies). A histogram adds ``_bucket``/``_sum``/``_count``."""
        name = re.sub(r"[^a-zA-Z0-9_]", "_", self.name)
        unit = _UNITS.get(self.unit, "" if self.unit.startswith("{") else self.unit)
        if unit and not name.endswith(f"_{unit}"):
            name = f"{name}_{unit}"
        if self.kind is Kind.COUNTER:
            name += "_total"
        return name


_UNITS: Final = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}

INGEST_RECORDS: Final = MetricSpec(
    "faramesh.ingest.records", Kind.COUNTER, "{record}",
    "Items a Push appended to the log, per stack and topic (dead letters included).",
    ("org_id", "stack_id", "topic"))
INGEST_BYTES: Final = MetricSpec(
    "faramesh.ingest.bytes", Kind.COUNTER, "By",
    "Bytes of Push requests that appended something, per stack.", ("org_id", "stack_id"))
ACK_LATENCY: Final = MetricSpec(
    "faramesh.ingest.ack.duration", Kind.HISTOGRAM, "s",
    "From a Push's arrival to its acknowledgement (the items durable on the log).", ("outcome",))
CONSUMER_LAG: Final = MetricSpec(
    "faramesh.consumer.lag", Kind.GAUGE, "{message}",
    "Messages on a partition the group has not committed yet (end offset - committed offset).",
    ("topic", "group", "partition"))
CONSUMER_MESSAGES: Final = MetricSpec(
    "faramesh.consumer.messages", Kind.COUNTER, "{message}",
    "Messages a consumer group committed after its sink wrote them.", ("topic", "group"))
DEAD_LETTERS: Final = MetricSpec(
    "faramesh.dead_letters", Kind.COUNTER, "{message}",
    "Messages parked on the dead-letter topic, by the topic and group that parked them "
    "(group 'ingest' for items a Push rejected).", ("topic", "group"))
RETRIES: Final = MetricSpec(
    "faramesh.consumer.retries", Kind.COUNTER, "{retry}",
    "Retried dead-letter appends, sink writes and offset commits.", ("topic", "group", "operation"))
NOTIFICATION_DELIVERIES: Final = MetricSpec(
    "faramesh.notifications.deliveries", Kind.COUNTER, "{delivery}",
    "Notification delivery attempts by outcome (delivered, retry, failed) and destination kind.",
    ("outcome", "kind"))
REPORT_JOBS: Final = MetricSpec(
    "faramesh.compliance.report_jobs", Kind.COUNTER, "{job}",
    "Compliance report jobs finished, by outcome (done, failed).", ("outcome",))
REPORT_DURATION: Final = MetricSpec(
    "faramesh.compliance.report_job.duration", Kind.HISTOGRAM, "s",
    "How long a compliance report job ran.", ("outcome",))

METRICS: Final = (INGEST_RECORDS, INGEST_BYTES, ACK_LATENCY, CONSUMER_LAG, CONSUMER_MESSAGES, DEAD_LETTERS,
                  RETRIES, NOTIFICATION_DELIVERIES, REPORT_JOBS, REPORT_DURATION)


def exported_names() -> dict[str, MetricSpec]:
    """Every Prometheus series name Cloud's metrics become (histograms: their three series)."""
    names: dict[str, MetricSpec] = {}
    for spec in METRICS:
        base = spec.prometheus
        if spec.kind is Kind.HISTOGRAM:
            for suffix in ("_bucket", "_sum", "_count"):
                names[base + suffix] = spec
        else:
            names[base] = spec
    return names

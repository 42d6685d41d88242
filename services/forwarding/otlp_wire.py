"""OTLP/HTTP protobuf bodies (``ExportLogsServiceRequest`` for ``/v1/logs``,
``ExportMetricsServiceRequest`` for ``/v1/metrics``; opentelemetry-proto), the one module of
the service that imports generated code for them.

A DPR is a log record: ``time_unix_nano`` its ``created_at``, ``observed_time_unix_nano``
when ingest received it, ``severity_text`` its effect (DENY/DEFER WARN, otherwise INFO
severity number), the body the DPR's JSON as the daemon wrote it, and its main fields as
``faramesh.*`` attributes. One resource per stack (``service.name`` ``faramesh``,
``faramesh.org``, ``faramesh.stack``). A decision count is one point of a delta,
monotonic sum ``faramesh.decisions`` over its minute, attribute ``effect``."""

from __future__ import annotations

import json
from collections.abc import Sequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

from faramesh_cloud.forwarding.domain import Item
from faramesh_cloud.forwarding.payloads import METRIC

SCOPE = "faramesh-cloud.forwarding"
_ATTRS = ("record_id", "agent_id", "session_id", "tool_id", "effect", "matched_rule_id", "reason_code",
          "policy_version", "record_hash")


def _kv(key: str, value: str) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(string_value=value))


def _resource_attrs(item: Item) -> list[KeyValue]:
    return [_kv("service.name", "faramesh"), _kv("faramesh.org", item.org_slug or item.org_id),
            _kv("faramesh.stack", item.stack_name or item.stack_id), _kv("faramesh.stack_id", item.stack_id)]


def logs_request(items: Sequence[Item]) -> bytes:
    request = ExportLogsServiceRequest()
    by_stack: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        by_stack.setdefault((item.org_id, item.stack_id), []).append(item)
    for group in by_stack.values():
        resource_logs = request.resource_logs.add()
        resource_logs.resource.attributes.extend(_resource_attrs(group[0]))
        scope_logs = resource_logs.scope_logs.add()
        scope_logs.scope.name = SCOPE
        for item in group:
            dpr = json.loads(item.payload)
            record = scope_logs.log_records.add()
            record.time_unix_nano = int(item.extra.get("created_ns", 0))
            record.observed_time_unix_nano = int(item.extra.get("received_ns", 0)) or record.time_unix_nano
            effect = str(dpr.get("effect") or "")
            record.severity_text = effect.upper()
            record.severity_number = (SeverityNumber.SEVERITY_NUMBER_WARN if effect.lower() in ("deny", "defer")
                                      else SeverityNumber.SEVERITY_NUMBER_INFO)
            record.body.string_value = item.payload
            record.attributes.extend(_kv(f"faramesh.{name}", str(dpr[name])) for name in _ATTRS
                                     if dpr.get(name) not in (None, ""))
    return request.SerializeToString()


def metrics_request(items: Sequence[Item]) -> bytes:
    request = ExportMetricsServiceRequest()
    by_stack: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        by_stack.setdefault((item.org_id, item.stack_id), []).append(item)
    for group in by_stack.values():
        resource_metrics = request.resource_metrics.add()
        resource_metrics.resource.attributes.extend(_resource_attrs(group[0]))
        scope_metrics = resource_metrics.scope_metrics.add()
        scope_metrics.scope.name = SCOPE
        metric = scope_metrics.metrics.add()
        metric.name = METRIC
        metric.unit = "{decision}"
        metric.description = "governance decisions by effect, per minute of the DPR's created_at"
        metric.sum.aggregation_temporality = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
        metric.sum.is_monotonic = True
        for item in group:
            point = json.loads(item.payload)
            dp = metric.sum.data_points.add()
            dp.start_time_unix_nano = int(point["minute"]) * 1_000_000_000
            dp.time_unix_nano = dp.start_time_unix_nano + 60 * 1_000_000_000
            dp.as_int = int(point["count"])
            dp.attributes.append(_kv("effect", str(point["effect"])))
    return request.SerializeToString()

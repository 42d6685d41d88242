"""The bodies each product's public intake API takes (pure: items in, bytes out).

* Datadog logs (``POST /api/v2/logs``): a JSON array of log objects (``ddsource``,
  ``ddtags``, ``hostname``, ``service``, ``message``), gzip-compressed
  (``Content-Encoding: gzip``); at most 1000 entries and 5 MB uncompressed per request.
* Datadog metrics (``POST /api/v2/series``): ``{"series": [{"metric", "type": 1 (count),
  "interval": 60, "points": [{"timestamp", "value"}], "tags", "resources"}]}``.
* Splunk HEC (``POST /services/collector/event``): event objects one after another (no
  array), each with ``time`` (epoch seconds), ``host``, ``source``, ``sourcetype``, optional
  ``index``, ``event``; metrics as ``"event": "metric"`` with ``fields`` holding
  ``metric_name:<name>``.
* Elastic ``_bulk``: NDJSON, an action line ``{"create": {"_index", "_id"}}`` then the
  document (with ``@timestamp``), ending with a newline; ``create`` with the record id as
  ``_id`` makes a retried batch idempotent (an existing document answers 409).
The OTLP protobuf bodies are built in ``otlp_wire.py`` (generated code stays at the edge)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from faramesh_cloud.forwarding.domain import Item

METRIC = "faramesh.decisions"
SOURCE = "faramesh-cloud"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dpr_of(item: Item) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(item.payload)
    return value


def point_of(item: Item) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(item.payload)
    return value


def summary(dpr: dict[str, Any]) -> str:
    return (f"{dpr.get('effect') or 'unknown'}: {dpr.get('agent_id', '')} {dpr.get('tool_id', '')} "
            f"({dpr.get('reason_code') or dpr.get('matched_rule_id') or 'no rule'})").strip()


def _tags(item: Item) -> dict[str, str]:
    return {"org": item.org_slug or item.org_id, "stack": item.stack_name or item.stack_id,
            "stack_id": item.stack_id}


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


def datadog_logs(items: Sequence[Item]) -> bytes:
    entries = []
    for item in items:
        dpr = dpr_of(item)
        tags = {**_tags(item), "effect": str(dpr.get("effect") or ""), "agent": str(dpr.get("agent_id") or "")}
        entries.append({"ddsource": "faramesh", "service": "faramesh", "hostname": tags["stack"],
                        "ddtags": ",".join(f"{k}:{v}" for k, v in tags.items() if v),
                        "message": summary(dpr), item.kind: dpr})
    return gzip.compress(_dumps(entries))


def datadog_series(items: Sequence[Item]) -> bytes:
    series = []
    for item in items:
        point = point_of(item)
        tags = {**_tags(item), "effect": point["effect"]}
        series.append({"metric": METRIC, "type": 1, "interval": 60,
                       "points": [{"timestamp": int(point["minute"]), "value": point["count"]}],
                       "tags": [f"{k}:{v}" for k, v in tags.items() if v],
                       "resources": [{"name": tags["stack"], "type": "host"}]})
    return gzip.compress(_dumps({"series": series}))


def splunk_events(items: Sequence[Item], config: dict[str, Any]) -> bytes:
    out = bytearray()
    for item in items:
        base: dict[str, Any] = {"host": item.stack_name or item.stack_id, "source": SOURCE}
        if config.get("index"):
            base["index"] = config["index"]
        if item.kind != "metrics":
            sourcetype = (config.get("sourcetype") or "faramesh:dpr") if item.kind == "dpr" else "faramesh:legacy"
            event = {**base, "time": _dpr_seconds(item), "sourcetype": sourcetype, "event": dpr_of(item),
                     "fields": {k: v for k, v in _tags(item).items() if v}}
        else:
            point = point_of(item)
            fields = {**_tags(item), "effect": point["effect"], f"metric_name:{METRIC}": point["count"]}
            event = {**base, "time": int(point["minute"]), "event": "metric", "sourcetype": "faramesh:metrics",
                     "fields": fields}
        out += _dumps(event)
    return bytes(out)


def elastic_bulk(items: Sequence[Item], config: dict[str, Any]) -> bytes:
    lines: list[bytes] = []
    for item in items:
        if item.kind != "metrics":
            dpr = dpr_of(item)
            index = config.get("index") or "faramesh-dpr"
            # a legacy summary never takes the id of the DPR that may follow it
            doc_id = f"{item.stack_id}:{'' if item.kind == 'dpr' else 'legacy:'}{dpr.get('record_id', '')}"
            doc = {"@timestamp": iso(_dpr_seconds(item)), "faramesh": _tags(item), item.kind: dpr}
        else:
            point = point_of(item)
            index = config.get("metrics_index") or "faramesh-metrics"
            doc_id = f"{item.stack_id}:{int(point['minute'])}:{point['effect']}:{point.get('seq', 0)}"
            doc = {"@timestamp": iso(point["minute"]), "faramesh": _tags(item), "metric": METRIC,
                   "effect": point["effect"], "count": point["count"]}
        lines.append(_dumps({"create": {"_index": index, "_id": doc_id}}))
        lines.append(_dumps(doc))
    return b"\n".join(lines) + b"\n"


def _dpr_seconds(item: Item) -> float:
    """When the daemon decided (else when ingest received it), in epoch seconds."""
    return int(item.extra.get("created_ns") or item.extra.get("received_ns") or 0) / 1e9

"""What the forwarding service works with (pure): destination kinds, a destination, an item
to forward (a DPR or a decision-count point) and the refusals a person can meet."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    DATADOG = "datadog"  # logs: POST /api/v2/logs; metrics: POST /api/v2/series (DD-API-KEY)
    GRAFANA_OTLP = "grafana_otlp"  # Grafana Cloud's OTLP gateway: OTLP/HTTP protobuf, basic auth
    SPLUNK_HEC = "splunk_hec"  # POST /services/collector/event (Authorization: Splunk <token>)
    ELASTIC = "elastic"  # POST /_bulk, NDJSON "create" actions (Authorization: ApiKey <key>)
    OTLP = "otlp"  # any OTLP/HTTP receiver: /v1/logs and /v1/metrics, protobuf, optional headers


LABELS: dict[Kind, str] = {
    Kind.DATADOG: "Datadog (logs and metrics)",
    Kind.GRAFANA_OTLP: "Grafana Cloud (OTLP)",
    Kind.SPLUNK_HEC: "Splunk HTTP Event Collector",
    Kind.ELASTIC: "Elastic (bulk API)",
    Kind.OTLP: "OpenTelemetry collector (OTLP/HTTP)",
}


class InvalidForwarding(ValueError):
    """A request the service refuses; ``code`` ``invalid`` (400) or ``conflict`` (409)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


class ForwardingConflict(InvalidForwarding):
    """A change that conflicts with the current state (a name in use): 409."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "conflict")


@dataclass(frozen=True, slots=True)
class Destination:
    destination_id: str
    org_id: str
    name: str
    kind: Kind
    config: dict[str, Any]
    forward_dprs: bool
    forward_metrics: bool
    created_at: datetime
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to send: a DPR (``payload`` is its JSON as the daemon wrote it) or a decision
    count (``payload`` is ``{"minute": iso, "effect": ..., "count": n}``)."""

    kind: str  # "dpr" | "legacy" (an unverified decision summary) | "metrics"
    org_id: str
    stack_id: str
    payload: str
    org_slug: str = ""
    stack_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """One line of the delivery log a person reads."""

    destination_id: str
    destination: str
    at: datetime
    items: int
    outcome: str
    attempts: int
    http_status: int | None
    error: str

"""The operations dashboard (deploy/grafana/dashboards/operations.json) asks Prometheus only
for what Cloud emits: every query parses as PromQL, every metric it names is one of
``observability.catalogue``'s under its exported Prometheus name, and every label it groups or
filters by is one that metric carries (or one Prometheus adds: job, instance; le for a
histogram's buckets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from faramesh_cloud.observability import catalogue

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "operations.json"
ADDED_BY_PROMETHEUS = {"job", "instance"}
# Grafana's own variables, replaced before Prometheus sees a query.
GRAFANA_RANGES = {"$__rate_interval": "5m", "$__range": "6h", "$__interval": "1m"}


def _queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    found = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel["targets"]]
    found += [(f"variable {v['name']}", v["definition"]) for v in dashboard["templating"]["list"]]
    return found


def _expand(expr: str) -> str:
    for name, value in GRAFANA_RANGES.items():
        expr = expr.replace(name, value)
    return expr


def _selectors(node: Any) -> Iterator[Any]:
    """Every vector selector of a parsed PromQL expression."""
    if type(node).__name__ == "VectorSelector":
        yield node
        return
    for attribute in ("expr", "lhs", "rhs", "vector_selector", "param"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _selectors(child)
    for child in getattr(node, "args", None) or ():
        yield from _selectors(child)


def _grouping(node: Any) -> Iterator[tuple[str, ...]]:
    """The label lists of every ``by (...)`` of the expression, with the selectors below it."""
    modifier = getattr(node, "modifier", None)
    if type(node).__name__ == "AggregateExpr" and modifier is not None:
        yield tuple(modifier.labels)
    for attribute in ("expr", "lhs", "rhs"):
        child = getattr(node, attribute, None)
        if child is not None:
            yield from _grouping(child)
    for child in getattr(node, "args", None) or ():
        yield from _grouping(child)


def test_the_dashboard_shows_lag_dead_letters_ingest_and_ack_latency() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " | ".join(p["title"] for p in dashboard["panels"]).lower()
    for topic in ("lag", "dead letters", "ingest", "acknowledgement latency"):
        assert topic in titles, topic
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"faramesh-prometheus"}
    named = {s.prometheus for s in catalogue.METRICS}
    shown = {n for _, expr in _queries() for n in named if n in expr}
    for spec in (catalogue.CONSUMER_LAG, catalogue.DEAD_LETTERS, catalogue.INGEST_RECORDS, catalogue.ACK_LATENCY):
        assert spec.prometheus in shown, spec.name


@pytest.mark.parametrize(("title", "expr"), _queries())
def test_every_query_parses_and_names_only_what_cloud_emits(title: str, expr: str) -> None:
    text = _expand(expr)
    if text.startswith("label_values("):  # Grafana's variable function: label_values(metric, label)
        metric, label = (part.strip() for part in text.removeprefix("label_values(").removesuffix(")").split(","))
        text = f"count by ({label}) ({metric})"
    parsed = promql_parser.parse(text)
    exported = catalogue.exported_names()
    selectors = list(_selectors(parsed))
    assert selectors, f"{title}: no metric in {expr}"
    specs = []
    for selector in selectors:
        assert selector.name in exported, f"{title}: {selector.name} is not a metric Cloud emits"
        spec = exported[selector.name]
        specs.append(spec)
        allowed = set(spec.attributes) | ADDED_BY_PROMETHEUS
        for matcher in selector.matchers.matchers:
            assert matcher.name in allowed, f"{title}: {selector.name} has no label {matcher.name!r}"
    for labels in _grouping(parsed):
        for label in labels:
            histogram_bucket = label == "le" and all(s.kind is catalogue.Kind.HISTOGRAM for s in specs)
            assert histogram_bucket or all(label in s.attributes or label in ADDED_BY_PROMETHEUS for s in specs), (
                f"{title}: grouped by {label!r}, which {[s.name for s in specs]} do not carry")


def test_prometheus_names_follow_the_collector_s_rules() -> None:
    assert catalogue.INGEST_RECORDS.prometheus == "faramesh_ingest_records_total"  # annotation unit dropped
    assert catalogue.INGEST_BYTES.prometheus == "faramesh_ingest_bytes_total"  # By → bytes, not repeated
    assert catalogue.ACK_LATENCY.prometheus == "faramesh_ingest_ack_duration_seconds"  # s → seconds
    assert catalogue.CONSUMER_LAG.prometheus == "faramesh_consumer_lag"  # a gauge: no _total
    assert "faramesh_ingest_ack_duration_seconds_bucket" in catalogue.exported_names()

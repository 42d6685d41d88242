"""docs/observability.md lists every metric Cloud emits, under its OTel and Prometheus names,
and ``otel_enabled`` is a real setting that is off by default."""

from __future__ import annotations

from pathlib import Path

from faramesh_cloud.config import Settings
from faramesh_cloud.observability import catalogue
from faramesh_cloud.observability.setup import current

DOC = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def test_every_metric_is_documented_with_both_names() -> None:
    text = DOC.read_text()
    for spec in catalogue.METRICS:
        assert f"| `{spec.name}` | {spec.kind} | `{spec.unit}` |" in text, spec.name
        assert f"`{spec.prometheus}`" in text, spec.prometheus


def test_opentelemetry_is_off_by_default_and_on_by_its_variable() -> None:
    assert Settings().otel_enabled is False
    assert Settings.load({}).otel_enabled is False
    assert Settings.load({"FARAMESH_CLOUD_OTEL_ENABLED": "true"}).otel_enabled is True
    assert current() is None  # nothing set up unless `up`/`serve` started it

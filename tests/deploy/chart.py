"""Rendering the Helm chart offline (helm-python-sdk: the Helm SDK in process, no binary, no
cluster) for the tests of tests/deploy."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import helm_python
import yaml

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "faramesh-cloud"
RELEASE = "faramesh-cloud"
NAMESPACE = "faramesh"
REGIONS = ("us-east", "us-west", "eu-central")

# The values sets a person installs with: (name, files layered in order).
VALUE_SETS: dict[str, tuple[str, ...]] = {
    "default": (),
    "production": ("values-production.yaml",),
    **{f"region-{r}": ("values-production.yaml", f"values-region-{r}.yaml") for r in REGIONS},
}


@cache
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of -f files: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def values_of(files: tuple[str, ...]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for name in files:
        merged = _merge(merged, helm_python.values_from_yaml((CHART / name).read_text()))
    return merged


def render_text(values: dict[str, Any]) -> dict[str, str]:
    """Template path -> rendered manifest text (schema-checked by Helm first); NOTES.txt, which
    Helm prints after an install rather than applying, is left out."""
    return {path: text for path, text in chart().render(values, name=RELEASE, namespace=NAMESPACE).items()
            if not path.endswith("/NOTES.txt")}


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rendered object."""
    return [doc for text in render_text(values).values() for doc in yaml.safe_load_all(text) if doc]


@cache
def rendered_set(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(values_of(VALUE_SETS[name])))


def of_kind(objects: tuple[dict[str, Any], ...] | list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]

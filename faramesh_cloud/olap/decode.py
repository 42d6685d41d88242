"""Turn ClickHouse JSON values into the Python values the Olap port promises.

The chDB adapter reads results as ``JSONCompact`` with 64-bit integers, decimals and
non-finite floats quoted, so nothing is lost in JSON; each column gets a converter built
once from its declared type.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from faramesh_cloud.olap.types import TypeNode, parse_type

Converter = Callable[[Any], Any]

_INTEGER = re.compile(r"^U?Int\d+$")
_FLOAT = frozenset({"Float32", "Float64", "BFloat16"})
_PASS_THROUGH = frozenset({"Nullable", "LowCardinality"})


def row_converter(types: list[str], default_tz: tzinfo) -> Callable[[list[Any]], tuple[Any, ...]]:
    """A function mapping one JSON row (a list) to a tuple of Python values."""
    converters = [column_converter(parse_type(t), default_tz) for t in types]
    if all(c is None for c in converters):
        return tuple
    pairs = [(i, c) for i, c in enumerate(converters) if c is not None]

    def convert(row: list[Any]) -> tuple[Any, ...]:
        for i, conv in pairs:
            row[i] = conv(row[i])
        return tuple(row)

    return convert


def column_converter(node: TypeNode, default_tz: tzinfo) -> Converter | None:
    """The converter for one type, or None when the JSON value is already right."""
    name = node.name
    inner = node.type_args()
    if name in _PASS_THROUGH and inner:
        return _nullable(column_converter(inner[0], default_tz))
    if name == "SimpleAggregateFunction" and inner:
        return column_converter(inner[-1], default_tz)
    if name == "Array" and inner:
        return _array(column_converter(inner[0], default_tz))
    if name == "Tuple":
        return _tuple([column_converter(t, default_tz) for t in inner])
    if name == "Map" and len(inner) == 2:
        return _map(column_converter(inner[0], default_tz), column_converter(inner[1], default_tz))
    return _scalar(node, default_tz)


def _scalar(node: TypeNode, default_tz: tzinfo) -> Converter | None:
    name = node.name
    if _INTEGER.match(name):
        return int
    if name in _FLOAT:
        return float
    if name.startswith("Decimal"):
        return lambda v: Decimal(str(v))
    if name in ("Date", "Date32"):
        return date.fromisoformat
    if name == "DateTime":
        tz = node.timezone(default_tz)
        return lambda v: datetime.fromisoformat(v).replace(tzinfo=tz)
    if name == "DateTime64":
        return _datetime64(node.timezone(default_tz))
    if name == "UUID":
        return uuid.UUID
    if name in ("IPv4", "IPv6"):
        return ipaddress.ip_address
    return None


def _datetime64(tz: tzinfo) -> Converter:
    def convert(text: str) -> datetime:
        head, dot, fraction = text.partition(".")
        if dot:
            head = f"{head}.{fraction[:6].ljust(6, '0')}"
        return datetime.fromisoformat(head).replace(tzinfo=tz)

    return convert


def _nullable(inner: Converter | None) -> Converter | None:
    if inner is None:
        return None
    return lambda v: None if v is None else inner(v)


def _array(inner: Converter | None) -> Converter | None:
    if inner is None:
        return None
    return lambda v: [inner(x) for x in v]


def _tuple(inner: list[Converter | None]) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, dict):  # named tuple, rendered as an object
            return {k: (c(x) if c else x) for (k, x), c in zip(value.items(), inner, strict=False)}
        return tuple(c(x) if c else x for x, c in zip(value, inner, strict=False))

    return convert


def _map(key: Converter | None, value: Converter | None) -> Converter:
    def convert(mapping: dict[str, Any]) -> dict[Any, Any]:
        return {(key(k) if key else k): (value(v) if value else v) for k, v in mapping.items()}

    return convert

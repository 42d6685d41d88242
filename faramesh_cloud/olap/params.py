"""Format Python values for ClickHouse server-side binding (``{name:Type}`` placeholders).

A bound value is sent as text, parsed by the server as the declared type; it never becomes
SQL. Top-level values use ClickHouse's *escaped* text form (backslash escapes, ``\\N`` for
NULL); values inside arrays, tuples and maps use the quoted literal form.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from enum import Enum
from typing import Any

from faramesh_cloud.olap.types import TypeNode, placeholder_types

_TOP_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})
_QUOTED_ESCAPES = str.maketrans({"\\": "\\\\", "'": "\\'"})
_ANY = TypeNode("")


def bind(sql: str, params: Mapping[str, Any]) -> dict[str, str]:
    """Each parameter as the text the server parses as its placeholder's declared type."""
    declared = placeholder_types(sql)
    return {name: format_top(value, declared.get(name, _ANY)) for name, value in params.items()}


def format_top(value: Any, node: TypeNode) -> str:
    node = node.unwrapped()
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_TOP_ESCAPES)
    if isinstance(value, Enum):
        return format_top(value.value, node)
    if isinstance(value, list | tuple | set | frozenset | Mapping):
        return _literal(value, node)
    return _plain(value, node)


def _literal(value: Any, node: TypeNode) -> str:
    node = node.unwrapped()
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.translate(_QUOTED_ESCAPES) + "'"
    if isinstance(value, Enum):
        return _literal(value.value, node)
    if isinstance(value, Mapping):
        key_t, value_t = [*node.type_args(), _ANY, _ANY][:2] if node.name == "Map" else [_ANY, _ANY]
        pairs = (f"{_literal(k, key_t)}:{_literal(v, value_t)}" for k, v in value.items())
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, tuple) and node.name == "Tuple":
        elements = node.type_args()
        items = (
            _literal(v, elements[i] if i < len(elements) else _ANY) for i, v in enumerate(value)
        )
        return "(" + ",".join(items) + ")"
    if isinstance(value, list | tuple | set | frozenset):
        element = node.type_args()[0] if node.name == "Array" and node.type_args() else _ANY
        return "[" + ",".join(_literal(v, element) for v in value) + "]"
    text = _plain(value, node)
    if isinstance(value, datetime | date | uuid.UUID):
        return "'" + text + "'"
    return text


def _plain(value: Any, node: TypeNode) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, datetime):
        return _datetime(value, node)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(
        f"cannot bind a {type(value).__name__} as a ClickHouse parameter; pass str, int, float, "
        "Decimal, bool, None, datetime, date, UUID, or a list/tuple/dict of those"
    )


def _datetime(value: datetime, node: TypeNode) -> str:
    if value.tzinfo is not None:
        target: tzinfo = node.timezone(UTC) if node.name.startswith("DateTime") else UTC
        value = value.astimezone(target)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if node.name == "DateTime":  # whole seconds only; a fraction is a parse error there
        return text
    return f"{text}.{value.microsecond:06d}"

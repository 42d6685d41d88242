"""Column-oriented insert data, checked the same way by every Olap adapter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faramesh_cloud.olap.port import OlapError


def column_rows(table: str, names: Sequence[str], data: Sequence[Sequence[Any]]) -> int:
    """How many rows ``data`` (one sequence per name) holds; ``OlapError`` unless there is
    one column per name and all have one length."""
    if len(data) != len(names):
        raise OlapError(f"cannot insert into {table}: {len(names)} columns named, {len(data)} given")
    lengths = {len(values) for values in data}
    if len(lengths) > 1:
        raise OlapError(f"cannot insert into {table}: columns of different lengths {sorted(lengths)}")
    return lengths.pop() if lengths else 0

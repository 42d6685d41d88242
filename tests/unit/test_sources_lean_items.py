"""The WAL loop builds each lean Item positionally (its hot path); it must hold exactly what
the keyword-built Item of the same frame holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from faramesh_cloud.sources import open_source


@pytest.mark.parametrize("name", ["dpr_chain_valid_jcs.wal", "dpr_wal_torn_tail.wal"])
def test_wal_items_equal_the_keyword_built_ones(vectors_dir: Path, name: str) -> None:
    with open_source(vectors_dir / name, lean=True) as source:
        items = [item for item in source if item.control is None]
        assert items and all(item.canonical for item in items)
        for item in items:
            again = source._item(item.index, item.where, item.raw, item.position, item.end)
            assert item._asdict() == again._asdict()
            assert item.where == f"byte offset {item.position}"

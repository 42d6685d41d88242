"""``in_log_order``: what position-keeping sinks rely on before they lock positions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from faramesh_cloud.consumer.runner import in_log_order


@dataclass(frozen=True)
class Row:
    topic: str
    partition: int
    offset: int


def test_rows_come_back_by_partition_then_offset_with_their_topic() -> None:
    rows = [Row("t", 1, 5), Row("t", 0, 9), Row("t", 1, 2), Row("t", 0, 3)]
    topic, ordered = in_log_order(rows)
    assert topic == "t"
    assert [(r.partition, r.offset) for r in ordered] == [(0, 3), (0, 9), (1, 2), (1, 5)]


def test_a_batch_of_two_topics_is_refused() -> None:
    with pytest.raises(ValueError, match="one topic"):
        in_log_order([Row("a", 0, 0), Row("b", 0, 1)])

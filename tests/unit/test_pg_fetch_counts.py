"""How a PostgresLog poll shares ``max_records`` among the member's partitions
(``pg_consumer.fetch_counts``): the counts add up to exactly ``max_records``, no two differ by
more than one, and the remainder moves round the partitions from poll to poll, so a small
``max_records`` over many partitions reaches every one of them."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from faramesh_cloud.log.pg_consumer import fetch_counts


@given(parts=st.lists(st.integers(0, 63), min_size=1, max_size=64, unique=True),
       max_records=st.integers(1, 10_000), turn=st.integers(0, 1_000))
def test_the_counts_add_up_to_max_records_and_differ_by_at_most_one(
        parts: list[int], max_records: int, turn: int) -> None:
    counts = fetch_counts(sorted(parts), max_records, turn)
    assert len(counts) == len(parts)
    assert sum(counts) == max_records
    assert max(counts) - min(counts) <= 1


@given(partitions=st.integers(1, 32), max_records=st.integers(1, 100), start=st.integers(0, 1_000))
def test_over_as_many_polls_as_partitions_each_gets_the_same_share(
        partitions: int, max_records: int, start: int) -> None:
    parts = list(range(partitions))
    total: Counter[int] = Counter()
    for turn in range(start, start + partitions):
        total.update(dict(zip(parts, fetch_counts(parts, max_records, turn), strict=True)))
    assert set(total.values()) == {max_records}


def test_fewer_records_than_partitions_reads_a_different_few_each_poll() -> None:
    parts = [0, 1, 2, 3, 4, 5, 6, 7]
    read = [[p for p, n in zip(parts, fetch_counts(parts, 3, turn), strict=True) if n] for turn in range(1, 4)]
    assert read == [[1, 2, 3], [2, 3, 4], [3, 4, 5]]

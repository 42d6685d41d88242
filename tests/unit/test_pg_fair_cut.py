"""How a PostgresLog poll cuts what it fetched to ``max_records`` (``pg_consumer.fair_cut``):
exactly ``max_records`` rows kept, each partition a prefix of its rows by offset, no partition
more than one row ahead of another that still had rows, and the partitions favoured in a round
rotating from poll to poll, so small polls over many partitions reach every one of them."""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from faramesh_cloud.log.pg_consumer import fair_cut


@given(rows=st.dictionaries(st.integers(0, 15), st.integers(1, 6), min_size=1),
       max_records=st.integers(1, 60), turn=st.integers(0, 100), shuffle=st.randoms())
def test_a_cut_keeps_max_records_as_a_fair_prefix_of_each_partition(
        rows: dict[int, int], max_records: int, turn: int, shuffle: random.Random) -> None:
    places = [(p, 10 + k) for p, n in rows.items() for k in range(n)]
    shuffle.shuffle(places)
    kept = fair_cut(places, max_records, turn)
    taken: Counter[int] = Counter(p for (p, _), keep in zip(places, kept, strict=True) if keep)
    assert sum(taken.values()) == min(max_records, len(places))
    for (p, offset), keep in zip(places, kept, strict=True):
        assert keep == (offset < 10 + taken[p])  # a prefix by offset
    short = [p for p, n in rows.items() if taken[p] < n]  # partitions cut short
    if short:
        assert max(taken.values()) - min(taken[p] for p in short) <= 1


def test_fewer_records_than_partitions_reads_a_different_few_each_poll() -> None:
    places = [(p, 0) for p in range(8)]
    read = [[p for (p, _), keep in zip(places, fair_cut(places, 3, turn), strict=True) if keep]
            for turn in range(1, 4)]
    assert read == [[1, 2, 3], [2, 3, 4], [3, 4, 5]]


def test_a_poll_that_fetched_no_more_than_max_records_keeps_everything() -> None:
    assert fair_cut([(0, 1), (3, 7)], 2, 5) == [True, True]

"""How the search index's existence check covers a batch's created_at values
(``clickhouse.created_ranges``): every value in exactly one range, at most ``max_ranges``
ranges, cut at the widest gaps only, never at a gap of ``min_gap_ns`` or less."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from faramesh_cloud.audit_index.clickhouse import MIN_GAP_NS, created_ranges

S = 1_000_000_000


def test_a_live_batch_is_one_range() -> None:
    assert created_ranges([5 * S + n * 100_000 for n in range(5_000)]) == [(5 * S, 5 * S + 4_999 * 100_000)]


def test_a_catch_up_next_to_live_records_is_two_ranges_not_the_hour_between() -> None:
    live = [3_600 * S + n for n in range(100)]
    backlog = [n * 1_000 for n in range(50)]
    assert created_ranges([*live, *backlog]) == [(0, 49_000), (3_600 * S, 3_600 * S + 99)]


def test_gaps_up_to_the_minimum_are_not_cut() -> None:
    values = [0, MIN_GAP_NS, 2 * MIN_GAP_NS, 2 * MIN_GAP_NS + MIN_GAP_NS + 1]
    assert created_ranges(values) == [(0, 2 * MIN_GAP_NS), (3 * MIN_GAP_NS + 1, 3 * MIN_GAP_NS + 1)]


def test_only_the_widest_gaps_are_cut_when_there_are_too_many() -> None:
    # gaps of 20, 90, 40 and 70 s: with three ranges, the cuts are at the 90 s and 70 s gaps
    values = [0, 20 * S, 110 * S, 150 * S, 220 * S]
    assert created_ranges(values, max_ranges=3) == [(0, 20 * S), (110 * S, 150 * S), (220 * S, 220 * S)]


def test_nothing_gives_no_range() -> None:
    assert created_ranges([]) == []


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=200),
       st.integers(min_value=1, max_value=10), st.integers(min_value=0, max_value=2**40))
def test_every_value_is_in_exactly_one_range(values: list[int], max_ranges: int, min_gap: int) -> None:
    ranges = created_ranges(values, max_ranges=max_ranges, min_gap_ns=min_gap)
    assert len(ranges) <= max_ranges
    assert all(lo <= hi for lo, hi in ranges)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))  # ascending, disjoint
    for value in values:
        assert sum(lo <= value <= hi for lo, hi in ranges) == 1
    ends = {v for r in ranges for v in r}
    assert ends <= set(values)  # each range starts and ends on a value: no wider than the batch
    for left, right in itertools.pairwise(ranges):
        assert right[0] - left[1] > min_gap  # a cut only at a gap wider than the minimum

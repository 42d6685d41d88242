"""Which partitions a member of a consumer group should read (pure).

Members are identified by integers; a member's *rank* is its place among the sorted ids of
the live members. Partitions are split into contiguous ranges, the first ``P % M`` members
taking one extra. Every member computes the same split from the same member list, so
members converge on it by releasing what is outside their range and taking what is inside.
"""

from __future__ import annotations

from collections.abc import Collection


def ideal_partitions(partitions: int, members: Collection[int], me: int) -> frozenset[int]:
    """The partitions member ``me`` should own when ``members`` (including ``me``) share a
    topic of ``partitions`` partitions."""
    if partitions <= 0:
        raise ValueError("partitions must be positive")
    ordered = sorted(set(members))
    if me not in ordered:
        raise ValueError(f"member {me} is not among the members {ordered}")
    rank = ordered.index(me)
    base, extra = divmod(partitions, len(ordered))
    start = rank * base + min(rank, extra)
    count = base + (1 if rank < extra else 0)
    return frozenset(range(start, start + count))


def seek_assigned(positions: dict[int, int], topic: str, partition: int, offset: int) -> None:
    """Move the read position of an assigned partition; the one rule every adapter's
    ``seek`` shares (reading never commits)."""
    if offset < 0:
        raise ValueError(f"offsets are never negative (got {offset})")
    if partition not in positions:
        raise ValueError(
            f"partition {partition} of {topic!r} is not assigned to this member "
            f"(assigned: {sorted(positions)}); seek only assigned partitions"
        )
    positions[partition] = offset


def rewind_all(positions: dict[int, int]) -> None:
    """``seek_to_beginning``: every assigned partition back to offset 0."""
    for partition in positions:
        positions[partition] = 0

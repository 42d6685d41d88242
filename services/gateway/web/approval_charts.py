"""How long resolved approvals waited: a histogram of the pending times of exactly the rows the
Approvals history table lists (same filters, same query)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from markupsafe import Markup

from faramesh_cloud.gateway.web import charts

# (label, upper bound in seconds, exclusive); the last bin is open.
BINS: Final = (("< 1 min", 60), ("1-5 min", 300), ("5-15 min", 900), ("15-60 min", 3600), ("1-4 h", 4 * 3600),
               ("4-24 h", 24 * 3600), ("> 24 h", None))


@dataclass(frozen=True, slots=True)
class PendingHistogram:
    counts: list[tuple[str, int]]
    total: int
    median_s: float
    svg: Markup


def bin_of(pending_s: float) -> str:
    for label, upper in BINS:
        if upper is None or pending_s < upper:
            return label
    raise AssertionError("the last bin is open")


def histogram(items: Sequence[Any]) -> PendingHistogram | None:
    if not items:
        return None
    counts = dict.fromkeys((label for label, _ in BINS), 0)
    for a in items:
        counts[bin_of(float(a.pending_s))] += 1
    ordered = sorted(float(a.pending_s) for a in items)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    points = list(counts.items())
    return PendingHistogram(points, len(items), median, charts.bar_chart(
        "pending-histogram", "How long resolved approvals were pending", points, short_labels=False,
        desc=f"{len(items)} approvals in {len(BINS)} bins of pending time"))

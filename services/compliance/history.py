"""Posture over time, pure: from a framework's dated per-control statuses (the service's daily
history), when each gap opened and closed, and the per-day counts the dashboard chart draws.

The history holds one entry per day on which posture was recorded; a day without an entry
keeps the previous entry's statuses (the service may record only when posture moves). A
control missing from an entry (the framework's mapping changed) is not a gap on that day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from faramesh_cloud.compliance.posture import Status

DatedStatuses = tuple[date, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class GapSpan:
    """A control in gap from ``opened`` until ``closed`` (the first day it was not a gap;
    ``None``: still open). ``opened_before`` when the history starts with it in gap (it may
    have opened earlier than recorded)."""

    control_id: str
    opened: date
    closed: date | None
    opened_before: bool = False


def _ordered(history: Iterable[DatedStatuses]) -> list[tuple[date, dict[str, Status]]]:
    entries: list[tuple[date, dict[str, Status]]] = []
    for day, statuses in history:
        try:
            entries.append((day, {control: Status(status) for control, status in statuses.items()}))
        except ValueError:
            bad = next(s for s in statuses.values() if s not in set(Status))
            raise ValueError(f"posture on {day.isoformat()}: status {bad!r} is not one of "
                             f"{', '.join(Status)}") from None
    entries.sort(key=lambda entry: entry[0])
    for (earlier, _), (later, _) in pairwise(entries):
        if earlier == later:
            raise ValueError(f"posture history has two entries for {later.isoformat()}")
    return entries


def gap_spans(history: Iterable[DatedStatuses]) -> list[GapSpan]:
    """Every gap span in the history, by control id then opening day."""
    entries = _ordered(history)
    open_since: dict[str, tuple[date, bool]] = {}
    spans: list[GapSpan] = []
    for index, (day, statuses) in enumerate(entries):
        for control in [c for c in open_since if statuses.get(c) is not Status.GAP]:
            opened, before = open_since.pop(control)
            spans.append(GapSpan(control, opened, day, before))
        for control, status in statuses.items():
            if status is Status.GAP and control not in open_since:
                open_since[control] = (day, index == 0)
    spans.extend(GapSpan(control, opened, None, before) for control, (opened, before) in open_since.items())
    return sorted(spans, key=lambda s: (s.control_id, s.opened))


def gaps_opened(history: Iterable[DatedStatuses]) -> dict[str, GapSpan]:
    """The controls in gap at the history's last entry, each with the span it is in (when it
    opened)."""
    return {span.control_id: span for span in gap_spans(history) if span.closed is None}


def daily_counts(history: Sequence[DatedStatuses]) -> list[tuple[date, dict[Status, int]]]:
    """Per recorded day, how many controls were in each status (the chart's series)."""
    result = []
    for day, statuses in _ordered(history):
        counts = dict.fromkeys(Status, 0)
        for status in statuses.values():
            counts[status] += 1
        result.append((day, counts))
    return result

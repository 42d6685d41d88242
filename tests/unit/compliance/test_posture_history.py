"""Posture over time: when each gap opened (and closed), and the per-day counts."""

from __future__ import annotations

from datetime import date

import pytest

from faramesh_cloud.compliance.history import GapSpan, daily_counts, gap_spans, gaps_opened
from faramesh_cloud.compliance.posture import Status

MON, TUE, WED, THU, FRI = (date(2026, 1, d) for d in (5, 6, 7, 8, 9))


def test_a_gap_that_opened_last_tuesday_shows_tuesday() -> None:
    history = [
        (MON, {"CC7.2": "evidence", "CC6.1": "policy"}),
        (TUE, {"CC7.2": "gap", "CC6.1": "policy"}),
        (THU, {"CC7.2": "gap", "CC6.1": "evidence"}),  # Wednesday not recorded: nothing moved
        (FRI, {"CC7.2": "gap", "CC6.1": "evidence"}),
    ]
    assert gaps_opened(history) == {"CC7.2": GapSpan("CC7.2", TUE, None)}


def test_order_of_the_history_does_not_matter() -> None:
    history = [(FRI, {"A": "gap"}), (MON, {"A": "evidence"}), (WED, {"A": "gap"})]
    assert gaps_opened(history)["A"].opened == WED


def test_closed_and_reopened_gaps_are_separate_spans() -> None:
    history = [(MON, {"A": "gap", "B": "evidence"}), (TUE, {"A": "policy", "B": "gap"}),
               (WED, {"A": "gap", "B": "gap"}), (THU, {"A": "gap", "B": "evidence"})]
    assert gap_spans(history) == [
        GapSpan("A", MON, TUE, opened_before=True),
        GapSpan("A", WED, None),
        GapSpan("B", TUE, THU),
    ]
    assert list(gaps_opened(history)) == ["A"]
    assert gaps_opened(history)["A"].opened == WED


def test_a_control_missing_from_an_entry_closes_its_gap() -> None:
    history = [(MON, {"A": "evidence"}), (TUE, {"A": "gap"}), (WED, {"B": "evidence"})]
    assert gap_spans(history) == [GapSpan("A", TUE, WED)]
    assert gaps_opened(history) == {}


def test_no_history_no_gaps() -> None:
    assert gaps_opened([]) == {} and daily_counts([]) == []


def test_two_entries_for_one_day_are_refused() -> None:
    with pytest.raises(ValueError, match="two entries for 2026-01-06"):
        gap_spans([(TUE, {"A": "gap"}), (TUE, {"A": "evidence"})])


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="posture on 2026-01-05: status 'covered' is not one of"):
        gap_spans([(MON, {"A": "gap", "B": "covered"})])


def test_daily_counts_for_the_chart() -> None:
    history = [(TUE, {"A": "gap", "B": "gap", "C": "policy"}), (MON, {"A": "evidence", "B": "gap", "C": "policy"})]
    assert daily_counts(history) == [
        (MON, {Status.EVIDENCE: 1, Status.POLICY: 1, Status.GAP: 1}),
        (TUE, {Status.EVIDENCE: 0, Status.POLICY: 1, Status.GAP: 2}),
    ]

"""Billing's pure parts: the decision counter reads headers only and keeps months apart at
their UTC boundaries (its cache included); invoice lines charge started blocks beyond what a
plan includes; a plans file is refused with the reason; months are checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from faramesh_cloud.billing.domain import (
    BillingRefused,
    Meter,
    MonthUsage,
    Plan,
    Price,
    check_month,
    invoice_lines,
    recent_months,
)
from faramesh_cloud.billing.plans import DEFAULT_CATALOG, PlansFileError, load_catalog
from faramesh_cloud.billing.processor import DecisionCounter, month_bounds
from faramesh_cloud.events.topics import DPR_RECORDS, Origin
from faramesh_cloud.log.port import Message

ORG = "3f1b5e8a-8c3e-4c6f-9a43-2a1f4f6e9d10"


def _ns(*at: int) -> int:
    return int(datetime(*at, tzinfo=UTC).timestamp()) * 1_000_000_000  # type: ignore[misc]


def _message(offset: int, received_ns: int, org: str = ORG, body: bytes = b"not json at all") -> Message:
    return Message(DPR_RECORDS, 0, offset, b"k", body, Origin(org, "s", "sync", 1, "b", received_ns).headers(), 0)


def test_the_counter_reads_headers_only_and_splits_months_at_utc_midnight() -> None:
    counter = DecisionCounter()
    months = [counter.process(_message(i, ns)) for i, ns in enumerate((
        _ns(2026, 12, 31, 23, 59, 59), _ns(2027, 1, 1) - 1, _ns(2027, 1, 1), _ns(2026, 12, 1), _ns(2026, 11, 30, 23)))]
    assert [(t.month, t.org_id, t.amount) for t in months if t is not None] == [
        ("2026-12", ORG, 1), ("2026-12", ORG, 1), ("2027-01", ORG, 1), ("2026-12", ORG, 1), ("2026-11", ORG, 1)]
    assert counter.process(_message(9, 0)) is None  # no receive time: nothing to bill
    assert counter.process(_message(9, _ns(2026, 12, 1), org="not-an-org")) is None
    assert counter.process(_message(9, _ns(2026, 12, 1), org=ORG.upper())).org_id == ORG  # type: ignore[union-attr]
    assert month_bounds(_ns(2026, 12, 15)) == (_ns(2026, 12, 1), _ns(2027, 1, 1), "2026-12")


def test_invoice_lines_charge_each_started_block_beyond_what_is_included() -> None:
    plan = Plan("p", "P", 1000, "EUR", {Meter.DECISIONS: Price(included=100, unit_cents=50, per=10),
                                        Meter.SEATS: Price(included=2, unit_cents=700)})
    usage = MonthUsage("2026-11", {Meter.DECISIONS: 101, Meter.SEATS: 2, Meter.STACKS: 9})
    lines, total = invoice_lines(plan, usage)
    by_meter = {line.meter: line for line in lines}
    assert (by_meter["decisions"].billable, by_meter["decisions"].amount_cents) == (1, 50)  # a started block
    assert by_meter["seats"].amount_cents == 0 and by_meter["stacks"].amount_cents == 0  # unpriced: free
    assert by_meter[""].amount_cents == 1000 and total == 1050


def test_a_plans_file_is_read_or_refused_with_the_reason(tmp_path: Path) -> None:
    assert load_catalog(None) is DEFAULT_CATALOG
    good = tmp_path / "plans.json"
    good.write_text(json.dumps({"plans": [{"plan_id": "pro", "base_cents": 100,
                                           "prices": {"reports": {"included": 1, "unit_cents": 5}}}]}))
    catalog = load_catalog(good)
    assert catalog.default_plan == "pro" and catalog.plans[0].prices[Meter.REPORTS] == Price(1, 5, 1)
    for data, says in (({"plans": []}, "non-empty list"),
                       ({"plans": [{"plan_id": "x", "prices": {"tokens": {}}}]}, "unknown meter 'tokens'"),
                       ({"plans": [{"plan_id": "x", "base_cents": -1}]}, "base_cents must be a whole number"),
                       ({"plans": [{"plan_id": "x", "prices": {"seats": {"per": 0}}}]}, "per must be at least 1"),
                       ({"default_plan": "y", "plans": [{"plan_id": "x"}]}, "default_plan 'y' is not one of")):
        good.write_text(json.dumps(data))
        with pytest.raises(PlansFileError, match=says):
            load_catalog(good)
    good.write_text("{")
    with pytest.raises(PlansFileError, match="is not JSON"):
        load_catalog(good)


def test_months_are_checked_and_counted_back() -> None:
    assert check_month(" 2026-11 ") == "2026-11"
    for bad in ("2026-13", "2026-00", "26-11", "November", ""):
        with pytest.raises(BillingRefused, match="is not a month"):
            check_month(bad)
    assert recent_months("2027-02", 4) == ["2026-11", "2026-12", "2027-01", "2027-02"]

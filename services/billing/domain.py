"""Billing's values (pure): the meters, plans and prices, a month's usage, invoice lines.

Meters (what the log and the platform tell the projection, per organisation and month):
* ``stacks``: distinct stacks that reported their status (``sync.items.v1`` ``stack_status``);
* ``decisions``: DPRs ingested (``dpr.records.v1``, counted from headers; the billing unit);
* ``reports``: compliance reports generated (``compliance.events.v1`` ``ArtifactRecorded`` of kind report);
* ``registry_bytes``: bytes of the registry versions the organisation published, up to the
  month's end (``registry.events.v1`` ``VersionPublished``);
* ``seats``: approver/operator seats (members whose role may decide approvals: Owner, Admin,
  Operator), the month's highest snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final


class Meter(StrEnum):
    STACKS = "stacks"
    DECISIONS = "decisions"
    REPORTS = "reports"
    REGISTRY_BYTES = "registry_bytes"
    SEATS = "seats"


METER_LABELS: Final = {
    Meter.STACKS: "Connected stacks",
    Meter.DECISIONS: "Governed decisions (DPRs ingested)",
    Meter.REPORTS: "Compliance reports generated",
    Meter.REGISTRY_BYTES: "Registry storage (bytes)",
    Meter.SEATS: "Approver/operator seats",
}

_MONTH: Final = re.compile(r"^(\d{4})-(\d{2})$")


class BillingRefused(ValueError):
    """A request refused as it stands (``code``: ``invalid`` 400, ``conflict`` 409)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


def month_of_ns(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m")


def month_of(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m")


def check_month(month: str) -> str:
    """``month`` as ``YYYY-MM``; BillingRefused otherwise."""
    m = _MONTH.match((month or "").strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise BillingRefused(f"month {month!r} is not a month: write it as YYYY-MM (e.g. 2026-11)")
    return m.group(0)


def next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def recent_months(current: str, count: int) -> list[str]:
    """``count`` months ending with ``current``, oldest first."""
    months = [current]
    while len(months) < count:
        months.append(previous_month(months[-1]))
    return months[::-1]


@dataclass(frozen=True)
class Price:
    """A meter's price in a plan: ``included`` units free, then ``unit_cents`` per ``per`` units."""

    included: int = 0
    unit_cents: int = 0
    per: int = 1


@dataclass(frozen=True)
class Plan:
    plan_id: str
    name: str
    base_cents: int
    currency: str = "USD"
    prices: dict[Meter, Price] = field(default_factory=dict)


@dataclass(frozen=True)
class MonthUsage:
    month: str
    meters: dict[Meter, int]


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    meter: str  # a Meter, or "" for the plan's base fee
    quantity: int
    included: int
    billable: int
    unit_cents: int
    per: int
    amount_cents: int


@dataclass(frozen=True)
class Invoice:
    org_id: str
    month: str
    invoice_number: str
    plan_id: str
    plan_name: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    total_cents: int
    issued_at: datetime
    issued_by: str
    event_id: str


def invoice_lines(plan: Plan, usage: MonthUsage) -> tuple[tuple[InvoiceLine, ...], int]:
    """The lines of a month's invoice under ``plan`` (pure) and their total in cents."""
    lines = [InvoiceLine(f"{plan.name} plan, base fee", "", 1, 0, 1, plan.base_cents, 1, plan.base_cents)]
    for meter in Meter:
        price = plan.prices.get(meter, Price())
        quantity = usage.meters.get(meter, 0)
        billable = max(0, quantity - price.included)
        per = max(1, price.per)
        amount = -(-billable // per) * price.unit_cents  # started blocks are charged
        lines.append(InvoiceLine(METER_LABELS[meter], meter.value, quantity, price.included, billable,
                                 price.unit_cents, per, amount))
    return tuple(lines), sum(line.amount_cents for line in lines)


def money(cents: int, currency: str = "USD") -> str:
    return f"{cents / 100:,.2f} {currency}"

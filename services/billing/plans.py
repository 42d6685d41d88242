"""Plans and prices are configuration: ``Settings.billing_plans_file`` (JSON) or the built-in
defaults below. No payment provider: Cloud computes invoices, it does not charge them.

File shape::

    {"default_plan": "team",
     "plans": [{"plan_id": "team", "name": "Team", "currency": "USD", "base_cents": 49900,
                "prices": {"decisions": {"included": 1000000, "unit_cents": 50, "per": 10000}, ...}}]}

Meters a plan leaves out cost nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from faramesh_cloud.billing.domain import Meter, Plan, Price

DEFAULT_PLANS: Final = (
    Plan("free", "Free", 0, "USD", {
        Meter.STACKS: Price(included=2, unit_cents=0), Meter.DECISIONS: Price(included=100_000, unit_cents=0),
        Meter.REPORTS: Price(included=2, unit_cents=0), Meter.SEATS: Price(included=3, unit_cents=0)}),
    Plan("team", "Team", 49_900, "USD", {
        Meter.STACKS: Price(included=5, unit_cents=5_000),
        Meter.DECISIONS: Price(included=1_000_000, unit_cents=50, per=10_000),
        Meter.REPORTS: Price(included=10, unit_cents=1_000),
        Meter.REGISTRY_BYTES: Price(included=100 * 1024 * 1024, unit_cents=10, per=1024 * 1024),
        Meter.SEATS: Price(included=10, unit_cents=2_500)}),
    Plan("enterprise", "Enterprise", 250_000, "USD", {
        Meter.STACKS: Price(included=50, unit_cents=3_000),
        Meter.DECISIONS: Price(included=20_000_000, unit_cents=30, per=10_000),
        Meter.REPORTS: Price(included=100, unit_cents=500),
        Meter.REGISTRY_BYTES: Price(included=1024 * 1024 * 1024, unit_cents=5, per=1024 * 1024),
        Meter.SEATS: Price(included=50, unit_cents=2_000)}),
)


class PlansFileError(ValueError):
    pass


@dataclass(frozen=True)
class Catalog:
    plans: tuple[Plan, ...]
    default_plan: str

    def get(self, plan_id: str) -> Plan | None:
        return next((p for p in self.plans if p.plan_id == plan_id), None)


DEFAULT_CATALOG: Final = Catalog(DEFAULT_PLANS, "free")


def _int(raw: Any, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise PlansFileError(f"{where} must be a whole number at least 0, not {raw!r}")
    return raw


def parse_catalog(data: Any) -> Catalog:
    if not isinstance(data, dict) or not isinstance(data.get("plans"), list) or not data["plans"]:
        raise PlansFileError("the plans file is a JSON object with a non-empty list \"plans\"")
    plans: list[Plan] = []
    for i, raw in enumerate(data["plans"]):
        if not isinstance(raw, dict) or not isinstance(raw.get("plan_id"), str) or not raw["plan_id"].strip():
            raise PlansFileError(f"plans[{i}] needs a plan_id (text)")
        pid = raw["plan_id"].strip()
        prices: dict[Meter, Price] = {}
        for name, p in (raw.get("prices") or {}).items():
            try:
                meter = Meter(name)
            except ValueError:
                raise PlansFileError(f"plan {pid}: unknown meter {name!r}; meters: "
                                     f"{', '.join(m.value for m in Meter)}") from None
            if not isinstance(p, dict):
                raise PlansFileError(f"plan {pid}: the price of {name} is an object")
            per = _int(p.get("per", 1), f"plan {pid} {name}.per")
            if per < 1:
                raise PlansFileError(f"plan {pid} {name}.per must be at least 1")
            prices[meter] = Price(_int(p.get("included", 0), f"plan {pid} {name}.included"),
                                  _int(p.get("unit_cents", 0), f"plan {pid} {name}.unit_cents"), per)
        plans.append(Plan(pid, str(raw.get("name") or pid), _int(raw.get("base_cents", 0), f"plan {pid} base_cents"),
                          str(raw.get("currency") or "USD"), prices))
    if len({p.plan_id for p in plans}) != len(plans):
        raise PlansFileError("two plans share a plan_id")
    default = str(data.get("default_plan") or plans[0].plan_id)
    if default not in {p.plan_id for p in plans}:
        raise PlansFileError(f"default_plan {default!r} is not one of the plans")
    return Catalog(tuple(plans), default)


def load_catalog(path: Path | None) -> Catalog:
    """The plans of ``path`` (None: the built-in defaults); PlansFileError naming the problem."""
    if path is None:
        return DEFAULT_CATALOG
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlansFileError(f"billing_plans_file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise PlansFileError(f"billing_plans_file {path} is not JSON: {exc}") from None
    try:
        return parse_catalog(data)
    except PlansFileError as exc:
        raise PlansFileError(f"billing_plans_file {path}: {exc}") from None

"""Budget burn drawn with the 80 % and 90 % thresholds: per stack on Home (the rows of
``FleetQuery.budget_burn``, the table beside it) and per agent on the stack's Overview (the
agents' daily budgets, as the Agents tab lists them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from markupsafe import Markup

from faramesh_cloud.gateway.web import charts

THRESHOLDS: Final = (80.0, 90.0)


def per_stack(burns: Sequence[Any]) -> Markup | None:
    rows = [(b.name, b.spent_usd, b.ceiling_usd) for b in burns if b.ceiling_usd > 0]
    if not rows:
        return None
    return charts.threshold_bars("burn-chart", "Budget burn today: share of each daily ceiling used", rows,
                                 THRESHOLDS, unit="usd")


def agent_rows(agents: Sequence[Any]) -> list[tuple[str, float, float]]:
    """(agent, spent, ceiling) of each agent's daily budgets (summed over its sessions)."""
    rows = []
    for a in agents:
        daily = [b for b in a.budgets if b.scope == "daily" and b.ceiling_usd > 0]
        if daily:
            rows.append((a.agent_id, sum(b.spent_usd for b in daily), sum(b.ceiling_usd for b in daily)))
    return sorted(rows)


def per_agent(agents: Sequence[Any]) -> tuple[list[tuple[str, float, float]], Markup | None]:
    rows = agent_rows(agents)
    if not rows:
        return rows, None
    return rows, charts.threshold_bars("agent-burn-chart", "Budget burn today per agent, share of the daily ceiling",
                                       rows, THRESHOLDS, unit="usd")

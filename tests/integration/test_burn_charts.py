"""Budget burn drawn with the 80 % and 90 % thresholds: per stack on Home (the numbers of the
burn table and its REST twin) and per agent on the stack's Overview (the agents' daily
budgets), through the fleet's reads in process and over gRPC."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from faramesh_cloud.fleet.processor import FleetProcessor
from faramesh_cloud.fleet.sink import FleetSink
from faramesh_cloud.sql.database import Database
from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import MakeClient
from tests.fixtures.identity import People
from tests.fleet_adapters import both_fleet_reads  # noqa: F401
from tests.fleet_items import budget, message, record
from tests.integration.test_fleet_api import seed_fleet, signed_in

pytestmark = [pytest.mark.postgres, pytest.mark.grpc, pytest.mark.integration]


def burn_marks(html: str, chart_id: str) -> tuple[dict[str, float], list[float]]:
    svg_text = html[html.index(f'<svg id="{chart_id}"'):]
    svg = ElementTree.fromstring(svg_text[:svg_text.index("</svg>") + 6])
    bars = {e.get("data-label") or "": float(e.get("data-value") or -1) for e in svg.iter() if e.get("class") == "burn"}
    lines = [float(e.get("data-value") or -1) for e in svg.iter() if e.get("class") == "threshold"]
    return bars, lines


async def test_burn_per_stack_and_per_agent_with_the_thresholds(
        client_factory: MakeClient, people: People, stacks: StackStore, database: Database) -> None:
    acme, pay, search = await seed_fleet(people, stacks, database)
    now = datetime.now(UTC)
    more = [record(acme.org.org_id, pay, 9, "budget_snapshot", budget(now, "refund-bot", 3.0, 12.0)),
            record(acme.org.org_id, search, 9, "budget_snapshot", budget(now, "search-bot", 8.5, 10.0))]
    await FleetSink(database).write([FleetProcessor().process(message(r, 5 + i))  # type: ignore[misc]
                                     for i, r in enumerate(more)])
    owner = await signed_in(client_factory, acme)
    table = (await owner.get("/api/v1/orgs/acme/fleet/budget-burn")).json()
    home = (await owner.get("/o/acme/")).text
    bars, lines = burn_marks(home, "burn-chart")
    assert lines == [80.0, 90.0]
    assert bars == {b["name"]: round(100 * b["spent_usd"] / b["ceiling_usd"], 1) for b in table}
    assert bars == {"payments-prod": round(100 * 12.6 / 22.0, 1), "search-staging": 85.0}

    overview = (await owner.get(f"/o/acme/fleet/stacks/{pay}")).text
    bars, lines = burn_marks(overview, "agent-burn-chart")
    assert lines == [80.0, 90.0] and bars == {"payments-bot": 96.0, "refund-bot": 25.0}
    rows = dict(re.findall(r'<tr data-agent="([\w-]+)" data-used="([\d.]+)">', overview))
    assert {a: float(u) for a, u in rows.items()} == bars  # the table under it

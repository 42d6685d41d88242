"""Decisions over time on Home and Audit → Search, over the real audit index: the chart's
bars, the table under it and the search page's counts are the same numbers, and the range
links change the window."""

from __future__ import annotations

import re
import time
from collections import Counter
from xml.etree import ElementTree

import httpx
import pytest

from faramesh_cloud.stacks.store import StackStore
from tests.fixtures.gateway import sign_in
from tests.fixtures.identity import PASSWORD, People
from tests.integration.audit_support import fleet, publish, records
from tests.integration.fleet_audit_support import FleetAuditIndex, fleet_audit_fixture  # noqa: F401

pytestmark = [pytest.mark.chdb, pytest.mark.postgres, pytest.mark.integration]

HOUR = 3_600_000_000_000


def chart_numbers(html: str) -> tuple[list[int], list[int], Counter[str], int, float]:
    """(bar totals, table totals, effects over the bars, the stated total, the stated deny rate)."""
    section = html.split('id="decisions"', 1)[1].split("</section>", 1)[0]
    svg = ElementTree.fromstring(section[section.index("<svg"):section.index("</svg>") + 6])
    bars = [int(g.get("data-total") or -1) for g in svg.iter() if g.get("class") == "bucket"]
    effects: Counter[str] = Counter()
    for seg in svg.iter():
        if seg.get("class") == "seg":
            effects[seg.get("data-series") or ""] += int(seg.get("data-value") or 0)
    table = [int(t) for t in re.findall(r'<tr data-total="(\d+)">', section)]
    total = int(re.search(r'id="dc-total" data-value="(\d+)"', section).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r'id="dc-deny-rate" data-value="([\d.]+)"', section).group(1))  # type: ignore[union-attr]
    return bars, table, effects, total, rate


async def test_home_and_audit_chart_the_numbers_of_their_tables(
        fleet_audit: FleetAuditIndex, people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod")
    now = time.time_ns()
    writers = fleet("pay", 2, ["s"], seed=3)
    older, middle, recent = (records(writers, 10, now - 3 * HOUR), records(writers, 6, now - 3 * HOUR // 2),
                             records(writers, 4, now - HOUR // 6))
    everything = older + middle + recent
    await publish(fleet_audit.log, org, pay.stack_id, everything)
    await fleet_audit.index(len(everything))

    app = fleet_audit.app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in(web, acme.email, PASSWORD)
        effects = Counter(r["effect"] for r in everything)
        denies = effects.get("DENY", 0)

        home = (await web.get("/o/acme/")).text
        bars, table, charted, total, rate = chart_numbers(home)
        assert bars == table and len(bars) == 24
        assert total == sum(bars) == len(everything)
        assert {k: v for k, v in charted.items()} == dict(effects)
        assert rate == round(100 * denies / len(everything), 1)
        assert sorted(n for n in bars if n) == [4, 6, 10]  # three batches, three hours apart

        search = (await web.get("/o/acme/audit")).text
        counts = {e: int(n) for e, n in re.findall(r'<b data-effect="(\w+)">(\d+)</b>', search)}
        bars, table, charted, total, _ = chart_numbers(search)
        assert bars == table and dict(charted) == counts and total == sum(counts.values())

        assert 'id="dc-note"' not in search
        denied = (await web.get("/o/acme/audit", params={"effect": "DENY"})).text
        assert chart_numbers(denied)[3] == len(everything) and 'id="dc-note"' in denied  # said, not hidden
        last_hour = (await web.get("/o/acme/audit", params={"decisions": "1h", "stack": pay.stack_id})).text
        bars, table, charted, total, _ = chart_numbers(last_hour)
        assert len(bars) == 12 and bars == table and total == 4
        assert dict(charted) == dict(Counter(r["effect"] for r in recent))
        assert f'stack={pay.stack_id}&amp;decisions=7d#decisions' in last_hour  # the range links keep the filter

        month = chart_numbers((await web.get("/o/acme/", params={"decisions": "30d"})).text)
        assert len(month[0]) == 30 and month[3] == len(everything)


async def test_fleet_list_sparklines_are_the_audit_charts_numbers_per_stack(
        fleet_audit: FleetAuditIndex, people: People, stacks: StackStore) -> None:
    acme = await people.org("acme")
    org = acme.org.org_id
    pay, _ = await stacks.register_stack(org, "payments-prod")
    quiet, _ = await stacks.register_stack(org, "quiet")
    now = time.time_ns()
    writers = fleet("pay", 3, ["s"], seed=4)
    recs = records(writers, 9, now - 5 * HOUR) + records(writers, 5, now - HOUR // 4)
    await publish(fleet_audit.log, org, pay.stack_id, recs)
    await fleet_audit.index(len(recs))

    app = fleet_audit.app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as web:
        await sign_in(web, acme.email, PASSWORD)
        listing = (await web.get("/o/acme/fleet")).text
        row = listing.split(f'<tr data-stack="{pay.stack_id}">', 1)[1].split("</tr>", 1)[0]
        decisions = [int(v) for v in re.search(r'id="spark-d-[^"]+"[^>]*data-values="([\d,]+)"', row).group(1).split(",")]  # type: ignore[union-attr]
        denies = [int(v) for v in re.search(r'id="spark-x-[^"]+"[^>]*data-values="([\d,]+)"', row).group(1).split(",")]  # type: ignore[union-attr]
        bars, _, charted, total, _ = chart_numbers(
            (await web.get("/o/acme/audit", params={"stack": pay.stack_id, "decisions": "24h"})).text)
        assert decisions == bars and sum(decisions) == total == len(recs)
        assert sum(denies) == charted.get("DENY", 0) == sum(1 for r in recs if r["effect"] == "DENY")
        assert f'data-total="{len(recs)}">' in row and f"{len(recs)} decisions" in row
        quiet_row = listing.split(f'<tr data-stack="{quiet.stack_id}">', 1)[1].split("</tr>", 1)[0]
        assert "0 decisions" in quiet_row and "0 denies" in quiet_row

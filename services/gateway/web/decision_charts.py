"""Decisions over time by effect, with the deny rate, for Home and Audit → Search: one query
(the audit index's ``DecisionStats``, the compliance report's own numbers) draws the chart
and fills the table under it, so the two cannot disagree. The range is chosen on the page
(``?decisions=1h|24h|7d|30d``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from markupsafe import Markup

from faramesh_cloud.gateway.web import charts

HOUR_NS: Final = 3_600_000_000_000
# range -> (length, bucket width)
RANGES: Final = {"1h": (HOUR_NS, HOUR_NS // 12), "24h": (24 * HOUR_NS, HOUR_NS),
                 "7d": (7 * 24 * HOUR_NS, 6 * HOUR_NS), "30d": (30 * 24 * HOUR_NS, 24 * HOUR_NS)}
DEFAULT: Final = "24h"
SERIES: Final = ("PERMIT", "DENY", "DEFER", "SHADOW")


@dataclass(frozen=True, slots=True)
class Row:
    """One bucket as the table shows it."""

    start: str
    counts: dict[str, int]
    total: int
    deny_rate: float


@dataclass(frozen=True, slots=True)
class DecisionChart:
    range: str
    total: int
    by_effect: dict[str, int]
    deny_rate: float
    unverified_total: int
    series: list[str]
    rows: list[Row]
    svg: Markup


def _label(ns: int, range_name: str) -> tuple[str, str]:
    moment = datetime.fromtimestamp(ns / 1e9, UTC)
    full = moment.strftime("%Y-%m-%d %H:%M UTC")
    short = moment.strftime("%H:%M" if range_name in ("1h", "24h") else "%m-%d" if range_name == "30d" else "%m-%d %Hh")
    return short, full


def chart(stats: Any, range_name: str, chart_id: str = "decisions-chart") -> DecisionChart:
    """The chart and table of one ``DecisionStats`` (buckets of ``RANGES[range_name]``)."""
    seen = {e for b in stats.buckets for e, n in b.counts.items() if n}
    series = [e for e in SERIES if e in seen or e in ("PERMIT", "DENY")] + sorted(seen - set(SERIES))
    rows, buckets = [], []
    for b in stats.buckets:
        short, full = _label(b.start_ns, range_name)
        total = sum(b.counts.values())
        rows.append(Row(full, {e: b.counts.get(e, 0) for e in series}, total,
                        round(charts.rate(b.counts.get("DENY", 0), total), 1)))
        buckets.append(charts.Bucket(short, full, dict(b.counts)))
    # Not "effect" nor "stack": the page's filters are labelled so, and a chart's name must not
    # answer for them.
    title = f"Decisions over the last {range_name} by outcome, with the deny rate"
    return DecisionChart(range_name, stats.total, dict(stats.by_effect),
                         round(charts.rate(stats.by_effect.get("DENY", 0), stats.total), 1),
                         stats.unverified_total, series, rows,
                         charts.stacked_chart(chart_id, title, buckets, series, rate_of="DENY"))


def range_of(params: Any) -> str:
    wanted = params.get("decisions", DEFAULT)
    return wanted if wanted in RANGES else DEFAULT


async def load(reader: Any, org_id: str, stack_ids: Sequence[str], range_name: str,
               now_ns: int | None = None) -> DecisionChart | None:
    """The chart over ``stack_ids`` (never empty: an empty list would mean every stack, so a
    member who may read none gets no chart), the range ending at the current bucket's end."""
    if not stack_ids:
        return None
    length, bucket = RANGES[range_name]
    now_ns = now_ns if now_ns is not None else int(datetime.now(UTC).timestamp() * 1e9)
    end = (now_ns // bucket + 1) * bucket
    stats = await reader.decision_stats(org_id, list(stack_ids), end - length, end, bucket, 1)
    return chart(stats, range_name)


def links(request: Any, anchor: str = "#decisions") -> dict[str, str]:
    """Each range's URL: this page with its other parameters kept (a cursor dropped)."""
    from urllib.parse import urlencode

    keep = {k: v for k, v in request.query_params.items() if k not in ("decisions", "cursor")}
    return {r: f"{request.url.path}?{urlencode({**keep, 'decisions': r})}{anchor}" for r in RANGES}


async def context(request: Any, reader: Any, org_id: str, stack_ids: Sequence[str]) -> dict[str, Any]:
    """What ``charts/_decisions.html`` needs (``{}`` when there is nothing to chart over)."""
    dc = await load(reader, org_id, stack_ids, range_of(request.query_params))
    return {"dc": dc, "dc_links": links(request)} if dc is not None else {}


async def sparks(reader: Any, org_id: str, stack_ids: Sequence[str], now_ns: int | None = None) -> dict[str, Any]:
    """Per stack: decisions and denies per hour over the last 24 hours as two sparklines, with
    their totals (the Fleet list's column); one query for every stack."""
    if not stack_ids:
        return {}
    now_ns = now_ns if now_ns is not None else int(datetime.now(UTC).timestamp() * 1e9)
    end = (now_ns // HOUR_NS + 1) * HOUR_NS
    out: dict[str, Any] = {}
    for s in await reader.decision_series(org_id, list(stack_ids), end - 24 * HOUR_NS, end, HOUR_NS):
        out[s.stack_id] = {
            "decisions": sum(s.decisions), "denies": sum(s.denies),
            "decisions_svg": charts.sparkline(f"spark-d-{s.stack_id}", "Decisions per hour, last 24 h", s.decisions),
            "denies_svg": charts.sparkline(f"spark-x-{s.stack_id}", "Denies per hour, last 24 h", s.denies,
                                           charts.EFFECT_COLOURS["DENY"]),
        }
    return out

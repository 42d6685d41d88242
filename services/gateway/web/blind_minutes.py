"""Blind minutes: per stack, over the last 24 hours or 7 days, when Cloud heard from the daemon,
when it did not, and which records arrived late by catch-up (and from which creation window),
so an auditor sees how long Cloud was blind and that the records of that time came in.

Two facts, both written by projections of the log (docs/charts.md):

* **heard from**: the minutes in which ingest received sync items from the stack (status,
  health, budget and credential reports: the fleet sink's ``fleet_contact``), and the minutes
  in which it received DPRs (the audit index's ``received_at``);
* **late**: a DPR received more than ``late_after_s`` after its ``created_at`` (ArrivalStats).

A gap between two heard minutes longer than ``blind_after_s`` (the fleet's disconnect
threshold) is a blind span. :func:`summarise` is pure; :func:`load` reads the two ports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from markupsafe import Markup

from faramesh_cloud.gateway.web import charts

MINUTE_NS: Final = 60_000_000_000
RANGES: Final = {"24h": 24 * 60, "7d": 7 * 24 * 60}  # minutes
CELLS: Final = {"24h": 96, "7d": 84}  # the strip: 15-minute cells over a day, 2-hour cells over a week


def _at(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _iso(ns: int) -> str:
    return _at(ns).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Span:
    start_ns: int
    end_ns: int

    @property
    def minutes(self) -> int:
        return (self.end_ns - self.start_ns) // MINUTE_NS

    @property
    def start_at(self) -> datetime:
        return _at(self.start_ns)

    @property
    def end_at(self) -> datetime:
        return _at(self.end_ns)

    def plain(self) -> dict[str, Any]:
        return {"start": _iso(self.start_ns), "end": _iso(self.end_ns), "minutes": self.minutes}


@dataclass(frozen=True, slots=True)
class Late:
    """Late records received in one minute, and the creation window they came from."""

    received_ns: int
    records: int
    created_first_ns: int
    created_last_ns: int

    @property
    def received_at(self) -> datetime:
        return _at(self.received_ns)

    @property
    def created_from_at(self) -> datetime:
        return _at(self.created_first_ns)

    @property
    def created_to_at(self) -> datetime:
        return _at(self.created_last_ns)

    def plain(self) -> dict[str, Any]:
        return {"received_at": _iso(self.received_ns), "records": self.records,
                "created_from": _iso(self.created_first_ns), "created_to": _iso(self.created_last_ns)}


@dataclass(frozen=True, slots=True)
class BlindMinutes:
    stack_id: str
    range: str
    start_ns: int
    end_ns: int
    blind_after_s: float
    late_after_s: float
    heard_minutes: int
    received: int
    blind: list[Span] = field(default_factory=list)
    late: list[Late] = field(default_factory=list)
    watched_from_ns: int = 0  # the stack's registration, when inside the range

    @property
    def blind_minutes(self) -> int:
        return sum(s.minutes for s in self.blind)

    @property
    def late_total(self) -> int:
        return sum(x.records for x in self.late)

    def plain(self) -> dict[str, Any]:
        return {"stack_id": self.stack_id, "range": self.range, "start": _iso(self.start_ns),
                "end": _iso(self.end_ns), "blind_after_s": self.blind_after_s, "late_after_s": self.late_after_s,
                "heard_minutes": self.heard_minutes, "blind_minutes": self.blind_minutes,
                "records_received": self.received, "late_records": self.late_total,
                "blind": [s.plain() for s in self.blind], "late": [x.plain() for x in self.late]}


def summarise(stack_id: str, range_name: str, end_ns: int, heard: Iterable[int], arrivals: Sequence[Any],
              *, blind_after_s: float, late_after_s: float, registered_ns: int = 0) -> BlindMinutes:
    """``heard``: the start (ns) of every minute with contact; ``arrivals``: per-minute
    ArrivalBuckets (``start_ns``, ``received``, ``late``, ``late_first_ns``, ``late_last_ns``).
    The range ends at ``end_ns`` and starts ``RANGES[range_name]`` minutes earlier (or at the
    stack's registration, ``registered_ns``, when later: Cloud was not watching before)."""
    start_ns = end_ns - RANGES[range_name] * MINUTE_NS
    watched = max(start_ns, registered_ns)
    minutes = sorted({m for m in heard if start_ns <= m < end_ns}
                     | {a.start_ns // MINUTE_NS * MINUTE_NS for a in arrivals if a.received})
    gap_ns = int(blind_after_s * 1e9)
    blind: list[Span] = []
    cursor = watched  # the end of the last contact (or the watch's start)
    for m in minutes:
        if m - cursor > gap_ns:
            blind.append(Span(cursor, m))
        cursor = max(cursor, m + MINUTE_NS)
    if end_ns - cursor > gap_ns:
        blind.append(Span(cursor, end_ns))
    late = [Late(a.start_ns, a.late, a.late_first_ns, a.late_last_ns) for a in arrivals if a.late]
    return BlindMinutes(stack_id, range_name, start_ns, end_ns, blind_after_s, late_after_s, len(minutes),
                        sum(a.received for a in arrivals), blind, late,
                        registered_ns if registered_ns > start_ns else 0)


def strip_svg(bm: BlindMinutes, chart_id: str = "blind-strip") -> Markup:
    """The strip: ``CELLS`` cells over the range, a cell blind when any of it was blind
    (a gap of a few minutes stays visible over a week), each late count on the cell that
    received it."""
    n = CELLS[bm.range]
    width = (bm.end_ns - bm.start_ns) // n
    cells = []
    for i in range(n):
        a, b = bm.start_ns + i * width, bm.start_ns + (i + 1) * width
        state = ("idle" if bm.watched_from_ns and b <= bm.watched_from_ns else
                 "blind" if any(s.start_ns < b and s.end_ns > a for s in bm.blind) else "heard")
        late = sum(x.records for x in bm.late if a <= x.received_ns < b)
        cells.append(charts.StripCell(_iso(a), _iso(b), state, late))
    title = (f"Blind minutes, last {bm.range}: {bm.blind_minutes} min blind in {len(bm.blind)} spans, "
             f"{bm.late_total} records arrived late by catch-up")
    return charts.strip(chart_id, title, cells)


async def load(fleet: Any, audit: Any, org_id: str, stack_id: str, range_name: str, *, now_ns: int,
               blind_after_s: float, registered_ns: int = 0) -> BlindMinutes:
    """Read the contact minutes (fleet) and the arrivals (audit index, when present)."""
    if range_name not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}, got {range_name!r}")
    end_ns = (now_ns // MINUTE_NS + 1) * MINUTE_NS  # the running minute included
    start_ns = end_ns - RANGES[range_name] * MINUTE_NS
    contact = await fleet.contact(org_id, stack_id, start_ns, end_ns)
    arrivals = (await audit.arrivals(org_id, stack_id, start_ns, end_ns, MINUTE_NS, int(blind_after_s * 1e9))
                if audit is not None else [])
    return summarise(stack_id, range_name, end_ns, (c.minute_ns for c in contact if c.items), arrivals,
                     blind_after_s=blind_after_s, late_after_s=blind_after_s, registered_ns=registered_ns)


async def for_stack(request: Any, principal: Any, stack_id: str, range_name: str, *,
                    checked: bool = False) -> BlindMinutes:
    """The strip's numbers for one stack the member may read (``load_stack`` checks it, unless
    the caller ``checked`` the stack already: the chain-integrity page, on its own permission)."""
    from faramesh_cloud.gateway.web.deps import web
    from faramesh_cloud.gateway.web.fleet_ports import fleet_ports
    from faramesh_cloud.gateway.web.fleet_view import load_stack

    if not checked:
        await load_stack(request, principal, stack_id)
    ports = fleet_ports(request)
    org_id = principal.org.org_id
    created = next((s.created_at for s in await ports.registry.list_stacks(org_id) if s.stack_id == stack_id), None)
    return await load(ports.query, ports.audit, org_id, stack_id, range_name,
                      now_ns=int(datetime.now(UTC).timestamp() * 1e9),
                      blind_after_s=web(request).config.disconnect_after_s,
                      registered_ns=int(created.timestamp() * 1e9) if created is not None else 0)


async def context(request: Any, principal: Any, stack_id: str, *, checked: bool = False) -> dict[str, Any]:
    """What ``charts/_blind_minutes.html`` needs; the range from the page's ``blind`` parameter."""
    wanted = request.query_params.get("blind", "24h")
    bm = await for_stack(request, principal, stack_id, wanted if wanted in RANGES else "24h", checked=checked)
    return {"bm": bm, "bm_svg": strip_svg(bm), "bm_href": request.url.path,
            "bm_api": f"/api/v1/orgs/{principal.org.slug}/fleet/stacks/{stack_id}/blind-minutes"}

"""Audit → Session explorer as a timeline (pure): every agent of a session on one time axis,
one lane per (stack, agent); each record a mark coloured by its effect and labelled with a
letter (colour is never the only cue), linking to its Explain; delegation edges from the
records' ``invoked_by_agent_id`` (from the invoking record when ``invoked_by_dpr_record_id``
is on the page, else from the invoking agent's lane); and each DEFER joined to its approval
(Cloud's approval, or the daemon's approval envelope) and to the resume record that carries
the envelope (``approval_envelope.token`` = the DEFER's ``defer_token``; FARAMESH_FORMATS 3.3).

The page draws it as server-side SVG (no script, no external asset); this module computes
the geometry in the SVG's own units."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

WIDTH: Final = 1000
GUTTER: Final = 190  # lane labels
RIGHT: Final = 24
TOP: Final = 34  # axis ticks
LANE_H: Final = 44
TICKS: Final = 5

# Effect → (letter drawn in the mark, class). The legend and each mark's title spell the word.
EFFECT_MARKS: Final = {
    "PERMIT": ("P", "permit"), "DENY": ("D", "deny"), "DEFER": ("W", "defer"), "MODIFY": ("M", "modify"),
    "STEP_UP": ("S", "step-up"), "SHADOW": ("H", "shadow"), "SHADOW_PERMIT": ("H", "shadow"),
}
OTHER_MARK: Final = ("?", "other")


@dataclass(frozen=True, slots=True)
class Lane:
    stack_id: str
    agent_id: str
    label: str  # the agent, and its stack's name when the session spans stacks
    y: float
    records: int
    outside: bool = False  # an invoking agent with no record on this page (another session, or earlier)


@dataclass(frozen=True, slots=True)
class Mark:
    record_id: str
    lane: int
    x: float
    y: float
    effect: str
    letter: str
    css: str
    title: str
    href: str


@dataclass(frozen=True, slots=True)
class Edge:
    """A delegation: ``parent`` invoked ``child``; drawn from (x1, y1) to the child's mark."""

    parent: str
    child: str
    x1: float
    y1: float
    x2: float
    y2: float
    from_record: bool  # drawn from the invoking record's mark (else from the parent's lane)
    title: str


@dataclass(frozen=True, slots=True)
class Join:
    """A DEFER, its approval and the resume record: the marks it connects."""

    defer_record_id: str
    defer_token: str
    defer_x: float
    y: float
    approval_x: float | None  # where the approval was resolved (None: not resolved, or no time known)
    approval_label: str  # "approved by …", "pending", …
    approval_href: str  # Cloud's approval page, or the resume record's Explain ('' when neither)
    approval_state: str  # approved / denied / pending / expired / withdrawn / resumed
    resume_record_id: str  # '' when no resume record is on the page
    resume_x: float | None
    resume_y: float | None


@dataclass(frozen=True, slots=True)
class Timeline:
    lanes: list[Lane]
    marks: list[Mark]
    edges: list[Edge]
    joins: list[Join]
    ticks: list[tuple[float, str]]
    height: float
    start: str
    end: str
    effects: list[tuple[str, str, str]] = field(default_factory=list)  # legend: (effect, letter, css)
    width: int = WIDTH
    gutter: int = GUTTER


def links_of(raw: str) -> dict[str, str]:
    """What the timeline reads from a record's bytes: ``invoked_by_agent_id``,
    ``invoked_by_dpr_record_id``, ``defer_token`` and the approval envelope's ``token``,
    ``approved``, ``approver_id`` and ``resolved_at`` (all '' when absent)."""
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(record, dict):
        return {}
    out = {k: str(record.get(k) or "") for k in ("invoked_by_agent_id", "invoked_by_dpr_record_id", "defer_token")}
    envelope: Any = record.get("approval_envelope") or ""
    if isinstance(envelope, str) and envelope:
        try:
            envelope = json.loads(envelope)
        except ValueError:
            envelope = {}
    if isinstance(envelope, dict):
        out["envelope_token"] = str(envelope.get("token") or "")
        out["envelope_approved"] = "true" if envelope.get("approved") is True else (
            "false" if envelope.get("approved") is False else "")
        out["envelope_approver"] = str(envelope.get("approver_id") or "")
        out["envelope_resolved_at"] = str(envelope.get("resolved_at") or "")
    return out


def _ns(text: str) -> int | None:
    """An RFC 3339 time (nanoseconds allowed) as Unix nanoseconds; None when unreadable."""
    if not text:
        return None
    head, _, frac = text.replace("Z", "+00:00").partition(".")
    tz = ""
    if frac:
        digits = frac[:len(frac) - len(frac.lstrip("0123456789"))]
        tz = frac[len(digits):]
    else:
        for sign in ("+", "-"):
            if sign in head[10:]:
                at = head.rindex(sign)
                head, tz = head[:at], head[at:]
                break
        digits = ""
    try:
        base = datetime.fromisoformat(head + (tz or "+00:00"))
    except ValueError:
        return None
    return int(base.timestamp()) * 1_000_000_000 + int((digits + "000000000")[:9])


def _tick_label(ns: int, span_ns: int) -> str:
    moment = datetime.fromtimestamp(ns / 1e9, UTC)
    if span_ns >= 86_400 * 10**9:
        return moment.strftime("%m-%d %H:%M")
    if span_ns >= 120 * 10**9:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%H:%M:%S.%f")[:12]


def build(records: Sequence[Any], links: Mapping[str, Mapping[str, str]], approvals: Sequence[Any], base: str,
          stack_names: Mapping[str, str]) -> Timeline:
    """``records``: the session page's summaries (oldest first); ``links``: ``links_of`` per
    record id; ``approvals``: Cloud's approvals of the session's DEFERs (``defer_token``,
    ``dpr_record_id``, ``approval_id``, ``state``, ``resolved_at``, ``resolved_by_label``,
    ``resolution_record_id``)."""
    many_stacks = len({r.stack_id for r in records}) > 1
    lane_keys: list[tuple[str, str]] = []
    counts: dict[tuple[str, str], int] = {}
    for r in records:
        key = (r.stack_id, r.agent_id)
        if key not in counts:
            lane_keys.append(key)
        counts[key] = counts.get(key, 0) + 1
    outside: list[tuple[str, str]] = []
    by_agent = {agent: stack for stack, agent in lane_keys}
    for r in records:
        parent = links.get(r.record_id, {}).get("invoked_by_agent_id", "")
        if parent and parent != r.agent_id and (r.stack_id, parent) not in counts and parent not in by_agent \
                and (r.stack_id, parent) not in outside:
            outside.append((r.stack_id, parent))

    def label(stack_id: str, agent_id: str) -> str:
        return f"{agent_id} ({stack_names.get(stack_id, stack_id[:8])})" if many_stacks else agent_id

    lanes = [Lane(s, a, label(s, a), TOP + LANE_H * (i + 0.5), counts[(s, a)]) for i, (s, a) in enumerate(lane_keys)]
    lanes += [Lane(s, a, label(s, a), TOP + LANE_H * (len(lanes) + i + 0.5), 0, True)
              for i, (s, a) in enumerate(outside)]
    lane_of = {(lane.stack_id, lane.agent_id): i for i, lane in enumerate(lanes)}

    def find_lane(stack_id: str, agent_id: str) -> int | None:
        if (stack_id, agent_id) in lane_of:
            return lane_of[(stack_id, agent_id)]
        if agent_id in by_agent:
            return lane_of[(by_agent[agent_id], agent_id)]
        return None

    by_token = {a.defer_token: a for a in approvals if getattr(a, "defer_token", "")}
    # The axis spans the page's records; an approval resolved outside it (after the page's last
    # record, or on a skewed clock) is drawn at the edge, its time in its title.
    times = [r.created_ns for r in records]
    t0, t1 = (min(times), max(times)) if times else (0, 1)
    span = max(t1 - t0, 1)
    plot = WIDTH - GUTTER - RIGHT

    def x_of(ns: int) -> float:
        return round(GUTTER + 12 + (min(max(ns, t0), t1) - t0) / span * (plot - 12), 1)

    marks: list[Mark] = []
    mark_of: dict[str, Mark] = {}
    for r in records:
        i = lane_of[(r.stack_id, r.agent_id)]
        letter, css = EFFECT_MARKS.get(r.effect, OTHER_MARK)
        mark = Mark(r.record_id, i, x_of(r.created_ns), lanes[i].y, r.effect, letter, css,
                    f"{r.effect} · {r.agent_id} → {r.tool_id} · {r.created_at}"
                    + (f" · rule {r.matched_rule_id}" if r.matched_rule_id else ""),
                    f"{base}/audit/records/{quote(r.record_id, safe='')}")
        marks.append(mark)
        mark_of.setdefault(r.record_id, mark)

    edges: list[Edge] = []
    for r in records:
        link = links.get(r.record_id, {})
        parent = link.get("invoked_by_agent_id", "")
        if not parent or parent == r.agent_id:
            continue
        child = mark_of[r.record_id]
        source = mark_of.get(link.get("invoked_by_dpr_record_id", ""))
        if source is not None:
            edges.append(Edge(parent, r.agent_id, source.x, source.y, child.x, child.y, True,
                              f"{parent} invoked {r.agent_id} (record {source.record_id})"))
            continue
        at = find_lane(r.stack_id, parent)
        if at is not None:
            edges.append(Edge(parent, r.agent_id, child.x, lanes[at].y, child.x, child.y, False,
                              f"{parent} invoked {r.agent_id}"))

    resumes: dict[tuple[str, str], Any] = {}
    for r in records:
        token = links.get(r.record_id, {}).get("envelope_token", "")
        if token:
            resumes.setdefault((r.agent_id, token), r)
    joins: list[Join] = []
    for r in records:
        token = links.get(r.record_id, {}).get("defer_token", "")
        if r.effect not in ("DEFER", "STEP_UP") or not token:
            continue
        defer = mark_of[r.record_id]
        approval = by_token.get(token)
        resume = resumes.get((r.agent_id, token))
        if resume is None and approval is not None and getattr(approval, "resolution_record_id", ""):
            resume = next((x for x in records if x.record_id == approval.resolution_record_id), None)
        resume_mark = mark_of.get(resume.record_id) if resume is not None else None
        envelope = links.get(resume.record_id, {}) if resume is not None else {}
        if approval is not None:
            at = int(approval.resolved_at.timestamp() * 1e9) if approval.resolved_at else None
            who = getattr(approval, "resolved_by_label", "") or getattr(approval, "resolved_by", "")
            state = str(approval.state)
            how = getattr(approval, "withdrawn_how", "")
            text = (f"withdrawn in Cloud: {how}" if how
                    else f"{state}" + (f" by {who}" if who and state != "pending" else ""))
            href = f"{base}/approvals/{quote(approval.approval_id, safe='')}"
        elif envelope.get("envelope_token"):
            at = _ns(envelope.get("envelope_resolved_at", ""))
            approved = envelope.get("envelope_approved")
            state = "approved" if approved == "true" else ("denied" if approved == "false" else "resolved")
            who = envelope.get("envelope_approver", "")
            text = f"{state} on the daemon" + (f" by {who}" if who else "")
            href = resume_mark.href if resume_mark else ""
        else:
            at, state, text, href = None, "unknown", "no approval known to Cloud", ""
        if resume_mark is not None and state == "unknown":
            state = "resumed"
        joins.append(Join(r.record_id, token, defer.x, defer.y, x_of(at) if at is not None else None, text, href,
                          state, resume_mark.record_id if resume_mark else "",
                          resume_mark.x if resume_mark else None, resume_mark.y if resume_mark else None))

    ticks = [(round(GUTTER + 12 + k / (TICKS - 1) * (plot - 12), 1), _tick_label(t0 + span * k // (TICKS - 1), span))
             for k in range(TICKS)] if records else []
    seen_effects = sorted({m.effect for m in marks})
    legend = [(e, *EFFECT_MARKS.get(e, OTHER_MARK)) for e in seen_effects]
    return Timeline(lanes, marks, edges, joins, ticks, TOP + LANE_H * len(lanes) + 8,
                    records[0].created_at if records else "", records[-1].created_at if records else "", legend)

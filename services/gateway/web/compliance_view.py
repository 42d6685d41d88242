"""How the Compliance pages show what the service returns: the posture-over-time chart as
inline SVG drawn on the server (no script, no chart library, no CDN: the page's CSP allows
none), the evidence and policy lines of a control's detail (missing keys tolerated), and the
link from an evidence line to the page that shows the same records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

from markupsafe import Markup, escape

COLOURS: Final = {"evidence": "#137333", "policy": "#1d4ed8", "gap": "#b3261e"}
STATUS_WORDS: Final = {"evidence": "covered by evidence", "policy": "covered by policy", "gap": "gap"}
WIDTH: Final = 720
HEIGHT: Final = 180
LEFT: Final = 34
BOTTOM: Final = 22
TOP: Final = 14


@dataclass(frozen=True)
class EvidenceLine:
    words: str
    count: int | None
    start: str
    end: str
    holds: bool | None
    threshold: str
    link: str  # under /o/{org}


@dataclass(frozen=True)
class StackCheck:
    """One policy rule checked on one stack's enforced policy."""

    stack_id: str
    holds: bool | None
    detail: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class PolicyLine:
    """One policy rule of a control, with its check on each stack (a rule holds when it holds
    on every stack checked)."""

    words: str
    holds: bool | None
    stacks: tuple[StackCheck, ...]

    @property
    def held_on(self) -> int:
        return sum(1 for s in self.stacks if s.holds)


def _text(value: Any) -> str:
    """A time as people read it here: to the minute, in UTC (other values as they are)."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-":
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def audit_link(line: Mapping[str, Any]) -> str:
    """The path (under ``/o/{org}``) of the page with the same filters and range: the line's own
    ``link`` when it has one, else Audit search with its ``audit_query`` (a query string or a
    mapping) and ``since``/``until`` from its range when the query has none."""
    link = line.get("link")
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//"):
        return link
    query = line.get("audit_query") or ""
    params = dict(parse_qsl(query)) if isinstance(query, str) else {str(k): str(v) for k, v in dict(query).items()}
    for key, field in (("since", "start"), ("until", "end")):
        if key not in params and line.get(field):
            params[key] = str(line[field])
    return "/audit" + (f"?{urlencode(params)}" if params else "")


def evidence_lines(detail: Any) -> list[EvidenceLine]:
    found = detail.get("evidence") if isinstance(detail, Mapping) else None
    out = []
    for line in found if isinstance(found, list) else []:
        if not isinstance(line, Mapping):
            continue
        count = line.get("count")
        out.append(EvidenceLine(str(line.get("words") or line.get("name") or "evidence query"),
                                count if isinstance(count, int) else None, _text(line.get("start")),
                                _text(line.get("end")), line.get("holds") if isinstance(line.get("holds"), bool)
                                else None, str(line.get("threshold") or ""), audit_link(line)))
    return out


def _lines(value: Any) -> tuple[int, ...]:
    return tuple(n for n in value if isinstance(n, int)) if isinstance(value, list | tuple) else ()


def policy_lines(detail: Any) -> list[PolicyLine]:
    """One line per policy rule, with its check on each stack (none: checked on no stack yet)."""
    found = detail.get("policy") if isinstance(detail, Mapping) else None
    out = []
    for line in found if isinstance(found, list) else []:
        if not isinstance(line, Mapping):
            continue
        words = str(line.get("words") or line.get("name") or "policy rule")
        holds = line.get("holds") if isinstance(line.get("holds"), bool) else None
        stacks = line.get("stacks")
        checks = tuple(StackCheck(str(s.get("stack_id") or ""),
                                  s.get("holds") if isinstance(s.get("holds"), bool) else holds,
                                  str(s.get("detail") or ""), _lines(s.get("lines")))
                       for s in (stacks if isinstance(stacks, list) else []) if isinstance(s, Mapping))
        if not checks and (line.get("stack") or line.get("stack_id")):
            checks = (StackCheck(str(line.get("stack") or line.get("stack_id")), holds, str(line.get("detail") or ""),
                                 _lines(line.get("lines"))),)
        out.append(PolicyLine(words, holds, checks))
    return out


def opened_gaps(days: Sequence[Any]) -> dict[str, tuple[str, ...]]:
    """Day -> the controls that became a gap that day (not a gap the day before)."""
    out: dict[str, tuple[str, ...]] = {}
    before: set[str] | None = None
    for d in days:
        now = set(d.gaps)
        new = sorted(now - before) if before is not None else []
        if new:
            out[d.day] = tuple(new)
        before = now
    return out


def posture_chart(days: Sequence[Any], today: date, span: int = 30) -> Markup:
    """Stacked bars per day (evidence, policy, gap) over the last ``span`` days; a day on which
    a control became a gap has a red marker above its bar naming the controls (``<title>``)."""
    first = today - timedelta(days=span - 1)
    by_day = {d.day: d for d in days}
    top = max([d.evidence + d.policy + d.gap for d in days] + [1])
    plot_w, plot_h = WIDTH - LEFT - 6, HEIGHT - BOTTOM - TOP
    slot = plot_w / span
    opened = opened_gaps(days)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'style="max-width:{WIDTH}px" role="img" '
             f'class="posture-chart" aria-label="Controls by status per day, {first} to {today}">',
             f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 6}" y2="{TOP + plot_h}" stroke="#cbd5e1"/>',
             f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="10" fill="#5b6470">{top}</text>',
             f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="10" fill="#5b6470">0</text>']
    for i in range(span):
        day = (first + timedelta(days=i)).isoformat()
        x = LEFT + i * slot + 1
        if (i % 7 == 0 and i < span - 4) or i == span - 1:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - 6}" text-anchor="middle" font-size="10" '
                         f'fill="#5b6470">{day[5:]}</text>')
        found = by_day.get(day)
        if found is None:
            continue
        y = TOP + plot_h
        for status in ("evidence", "policy", "gap"):
            n = getattr(found, status)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot - 2:.1f}" height="{h:.1f}" '
                         f'fill="{COLOURS[status]}" data-day="{day}" data-status="{status}">'
                         f'<title>{day}: {n} {STATUS_WORDS[status]}</title></rect>')
        if day in opened:
            names = ", ".join(opened[day])
            parts.append(f'<path d="M{x + slot / 2 - 5:.1f},{TOP - 10} l10,0 l-5,8 z" fill="#b3261e" '
                         f'class="gap-opened" data-day="{day}"><title>{day}: gap opened: {escape(names)}'
                         f'</title></path>')
    parts.append("</svg>")
    return Markup("".join(parts))


# Coverage analysis ------------------------------------------------------------------------------
COVERAGE_WORDS: Final = {"full": "full", "partial": "partial", "gap": "gap", "covered": "covered"}
SNIPPET_EFFECTS: Final = ("permit", "defer", "deny", "deny!")
FINDING_WORDS: Final = {  # a declared-but-not-enforced finding's kind, as a person reads it
    "agent_dropped": "agent block dropped",
    "rule_shadowed": "rule shadowed by an earlier rule",
    "pack_replaces_primary": "an imported pack replaces your agent",
    "condition_misread": "condition misread by the daemon",
    "load_fails": "the daemon cannot load this policy",
    "no_policy": "no policy at all",
    "parse_error": "does not parse",
    "import_invalid": "import is not a pinned reference",
    "import_unresolved": "import not in the known catalogue",
    "import_unparseable": "imported pack does not parse",
    "phase_dropped": "phase dropped",
    "clause_dropped": "clause dropped",
    "credential_breaks": "credential block broken by the daemon",
    "var_dropped": "variable dropped",
    "budget_extra": "second budget block refused",
    "max_calls_dropped": "max_calls dropped",
    "budget_scope_ignored": "budget scope ignored",
    "system_rejected": "system block rejected",
    "strict_conflict": "deny! conflicts with a permit",
    "tool_mangled": "tool id mangled on apply",
    "trust_key_inert": "trust key has no effect",
    "unknown_effect": "unknown effect word",
}
CONTEXT_LINES: Final = 2


@dataclass(frozen=True)
class SourceLine:
    number: int | None  # None: a line that is not in the file (a suggested snippet)
    text: str  # untrusted: the template escapes it
    mark: bool = False


def finding_words(kind: str) -> str:
    return FINDING_WORDS.get(kind, kind.replace("_", " "))


def around(lines: Sequence[str], line: int, span: int = CONTEXT_LINES) -> list[SourceLine]:
    """Lines ``line - span`` .. ``line + span`` of the applied file (1-based), ``line`` marked."""
    if not lines or line < 1:
        return []
    first, last = max(1, line - span), min(len(lines), line + span)
    return [SourceLine(n, lines[n - 1], n == line) for n in range(first, last + 1)]


def with_snippet(lines: Sequence[str], text: str, line: int | None, span: int = CONTEXT_LINES) -> list[SourceLine]:
    """Where a suggested rule goes: a few lines of the applied file with the snippet inserted
    above ``line`` (None: after the last line), the snippet marked and unnumbered."""
    at = line if line is not None and 1 <= line <= len(lines) else len(lines) + 1
    before = [SourceLine(n, lines[n - 1]) for n in range(max(1, at - span), at)]
    after = [SourceLine(n, lines[n - 1]) for n in range(at, min(len(lines), at + span - 1) + 1)]
    return [*before, SourceLine(None, text, True), *after]

"""Server-rendered SVG charts: no script, no CDN, nothing fetched (an air-gapped install draws
every chart). Every chart is accessible the same way: ``role="img"`` labelled by its
``<title>`` and ``<desc>``, each mark (bar, point, cell) carries its number in its own
``<title>`` (what a tooltip and a screen reader read) and in ``data-*`` attributes (what the
tests compare with the page's table), and colours always come with a text label (legend,
value above the bar). The callers pass the numbers of the same query their table shows.

Billing's monthly meters, Home's and Audit's decisions over time, budget burn, the Fleet list's
sparklines, the approvals' pending-time histogram and the blind-minutes strip are all drawn
here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 560
HEIGHT: Final = 180
PAD_TOP: Final = 22
PAD_BOTTOM: Final = 28
BAR_FILL: Final = "#3b6ea5"

# Effects: colour plus the effect's name in the legend and each bar's title (never colour alone).
EFFECT_COLOURS: Final = {"PERMIT": "#137333", "DENY": "#b3261e", "DEFER": "#a15c00", "SHADOW": "#6b7280"}
OTHER_COLOUR: Final = "#64748b"
RATE_COLOUR: Final = "#1b1f24"
# The blind-minutes strip: heard, blind, late records caught up.
STRIP_COLOURS: Final = {"heard": "#137333", "blind": "#b3261e", "idle": "#e3e6ea"}


def human(value: int | float, unit: str = "") -> str:
    if unit == "bytes":
        for size, name in ((1024 ** 3, "GiB"), (1024 ** 2, "MiB"), (1024, "KiB")):
            if value >= size:
                return f"{value / size:.1f} {name}"
        return f"{int(value)} B"
    if unit == "usd":
        return f"${value:,.2f}"
    if unit == "%":
        return f"{value:.0f} %"
    for size, name in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}{name}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _open(chart_id: str, cls: str, title: str, desc: str, width: int, height: int, *, fluid: bool = False) -> list[str]:
    """The ``<svg>`` with its title and description; ``fluid`` stretches it to the card's width
    (the viewBox keeps its proportions), else it keeps its size but never overflows."""
    cid = escape(chart_id)
    size = 'width="100%" style="height:auto"' if fluid else f'width="{width}" height="{height}" style="max-width:100%;height:auto"'
    return [f'<svg id="{cid}" class="chart {cls}" role="img" aria-labelledby="{cid}-t {cid}-d" '
            f'viewBox="0 0 {width} {height}" {size} xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(desc)}</desc>']


def bar_chart(chart_id: str, title: str, points: Sequence[tuple[str, int]], unit: str = "",
              *, short_labels: bool = True, desc: str = "") -> Markup:
    """One bar per (label, value), oldest first; the value above each bar. ``short_labels``
    drops a label's first two characters under the axis (``2026-05`` -> ``26-05``)."""
    n = max(1, len(points))
    slot = WIDTH / n
    bar = max(4.0, slot * 0.6)
    top = max((v for _, v in points), default=0) or 1
    plot = HEIGHT - PAD_TOP - PAD_BOTTOM
    total = sum(v for _, v in points)
    parts = _open(chart_id, "meter-chart", title, desc or f"{len(points)} bars, total {human(total, unit)}",
                  WIDTH, HEIGHT)
    parts.append(f'<line x1="0" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - PAD_BOTTOM}" stroke="#999"/>')
    every = max(1, n // 12)  # at most a dozen axis labels
    for i, (label, value) in enumerate(points):
        h = plot * value / top
        x = i * slot + (slot - bar) / 2
        y = HEIGHT - PAD_BOTTOM - h
        text = human(value, unit)
        parts.append(f'<rect class="bar" data-label="{escape(label)}" data-month="{escape(label)}" '
                     f'data-value="{value}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                     f'fill="{BAR_FILL}"><title>{escape(label)}: {escape(text)}</title></rect>')
        if n <= 24:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="10" text-anchor="middle">'
                         f"{escape(text)}</text>")
        if i % every == 0:
            shown = label[2:] if short_labels else label
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" font-size="10" '
                         f'text-anchor="middle">{escape(shown)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class Bucket:
    """One time bucket of a stacked chart: its axis label, its full label (the title) and
    the count per series."""

    label: str
    title: str
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def rate(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent (0 when there is nothing)."""
    return 100.0 * part / whole if whole else 0.0


def stacked_chart(chart_id: str, title: str, buckets: Sequence[Bucket], series: Sequence[str],
                  *, rate_of: str | None = None) -> Markup:
    """Bars stacked by series (effects, in ``series`` order, bottom up), one per bucket, with a
    legend; ``rate_of`` draws that series' share of each bucket as a line on a 0-100 % scale
    (the deny rate), each point titled with its percentage."""
    width, height, legend_h = WIDTH + 40, HEIGHT + 20, 18
    n = max(1, len(buckets))
    slot = (width - 40) / n
    bar = max(2.0, slot * 0.7)
    top = max((b.total for b in buckets), default=0) or 1
    base = height - PAD_BOTTOM
    plot = base - PAD_TOP - legend_h
    total = sum(b.total for b in buckets)
    desc = f"{n} buckets, {total} decisions"
    if rate_of:
        desc += f", {rate_of.lower()} rate {rate(sum(b.counts.get(rate_of, 0) for b in buckets), total):.1f} %"
    parts = _open(chart_id, "stacked-chart", title, desc, width, height)
    # Legend: a swatch and the series' name (colour plus text).
    x = 0.0
    for name in [*series, *([f"{rate_of.lower()} rate"] if rate_of else [])]:
        colour = EFFECT_COLOURS.get(name, RATE_COLOUR if rate_of and name.endswith(" rate") else OTHER_COLOUR)
        parts.append(f'<rect x="{x:.0f}" y="2" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14:.0f}" y="11" font-size="11">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    parts.append(f'<line x1="0" y1="{base}" x2="{width - 40}" y2="{base}" stroke="#999"/>')
    parts.append(f'<text x="{width - 36}" y="{base - plot + 4:.0f}" font-size="10">{escape(human(top))}</text>')
    line: list[str] = []
    every = max(1, n // 8)
    for i, b in enumerate(buckets):
        x = i * slot + (slot - bar) / 2
        y = float(base)
        parts.append(f'<g class="bucket" data-label="{escape(b.title)}" data-total="{b.total}">')
        for name in series:
            value = b.counts.get(name, 0)
            if not value:
                continue
            h = plot * value / top
            y -= h
            parts.append(f'<rect class="seg" data-series="{escape(name)}" data-value="{value}" x="{x:.1f}" '
                         f'y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{EFFECT_COLOURS.get(name, OTHER_COLOUR)}">'
                         f"<title>{escape(b.title)}: {value} {escape(name)}</title></rect>")
        parts.append(f'<rect x="{i * slot:.1f}" y="{base - plot}" width="{slot:.1f}" height="{plot}" '
                     f'fill="transparent"><title>{escape(b.title)}: {b.total} in all</title></rect></g>')
        if rate_of:
            r = rate(b.counts.get(rate_of, 0), b.total)
            line.append(f"{x + bar / 2:.1f},{base - plot * r / 100:.1f}")
            parts.append(f'<circle class="rate" data-label="{escape(b.title)}" data-value="{r:.1f}" '
                         f'cx="{x + bar / 2:.1f}" cy="{base - plot * r / 100:.1f}" r="2" fill="{RATE_COLOUR}">'
                         f"<title>{escape(b.title)}: {rate_of.lower()} rate {r:.1f} %</title></circle>")
        if i % every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{base + 14}" font-size="10" text-anchor="middle">'
                         f"{escape(b.label)}</text>")
    if rate_of and len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{RATE_COLOUR}" '
                     f'stroke-width="1" stroke-dasharray="3 2"/>')
    if rate_of:
        parts.append(f'<text x="{width - 36}" y="{base - plot + 16:.0f}" font-size="10">100 %</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def threshold_bars(chart_id: str, title: str, rows: Sequence[tuple[str, float, float]],
                   thresholds: Sequence[float] = (80.0, 90.0), unit: str = "") -> Markup:
    """Horizontal bars of (label, used, limit) as the percentage used, on a 0-100 % axis with a
    dashed line at each threshold (80 % and 90 %); a bar past a threshold takes its colour, and
    its label and numbers are written beside it."""
    label_w, bar_h, gap = 200, 14, 8
    width = WIDTH + label_w // 2
    plot_w = width - label_w - 70
    height = PAD_TOP + len(rows) * (bar_h + gap) + 16
    parts = _open(chart_id, "burn-chart", title,
                  f"{len(rows)} budgets; lines at " + " and ".join(f"{t:g} %" for t in thresholds), width, height)
    for t in thresholds:
        tx = label_w + plot_w * t / 100
        parts.append(f'<line class="threshold" data-value="{t:g}" x1="{tx:.1f}" y1="{PAD_TOP - 6}" x2="{tx:.1f}" '
                     f'y2="{height - 12}" stroke="{"#b3261e" if t >= 90 else "#a15c00"}" stroke-dasharray="4 3">'
                     f"<title>{t:g} % threshold</title></line>"
                     f'<text x="{tx:.1f}" y="{PAD_TOP - 8}" font-size="10" text-anchor="middle">{t:g} %</text>')
    for i, (label, used, limit) in enumerate(rows):
        pct = 100.0 * used / limit if limit else 0.0
        y = PAD_TOP + i * (bar_h + gap)
        w = plot_w * min(pct, 100.0) / 100
        colour = "#b3261e" if pct >= max(thresholds) else "#a15c00" if pct >= min(thresholds) else BAR_FILL
        text = f"{human(used, unit)} of {human(limit, unit)} ({pct:.0f} %)"
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_h - 3}" font-size="11" text-anchor="end">'
                     f"{escape(label[:32])}</text>"
                     f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#f1f5f9"/>'
                     f'<rect class="burn" data-label="{escape(label)}" data-value="{pct:.1f}" x="{label_w}" '
                     f'y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                     f"<title>{escape(label)}: {escape(text)}</title></rect>"
                     f'<text x="{label_w + plot_w + 4}" y="{y + bar_h - 3}" font-size="10">{pct:.0f} %</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(chart_id: str, title: str, values: Sequence[int], colour: str = BAR_FILL,
              width: int = 120, height: int = 24) -> Markup:
    """A small line of ``values`` (oldest first) with the total and the last value in its
    title; each point's value in a ``data-values`` list."""
    top = max(values, default=0) or 1
    n = max(1, len(values) - 1)
    pts = " ".join(f"{width * i / n:.1f},{height - 2 - (height - 4) * v / top:.1f}" for i, v in enumerate(values))
    total = sum(values)
    parts = _open(chart_id, "sparkline", title, f"{total} in all, {values[-1] if values else 0} in the last bucket",
                  width, height)
    parts[0] = parts[0].replace('class="chart sparkline"',
                                f'class="chart sparkline" data-total="{total}" '
                                f'data-values="{",".join(str(v) for v in values)}"')
    if len(values) > 1:
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.5"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True, slots=True)
class StripCell:
    """One span of the blind-minutes strip: ``state`` is ``heard`` (Cloud heard from the
    daemon), ``blind`` (it did not) or ``idle`` (not registered yet / the future); ``late``
    records received in it were created earlier than the late threshold."""

    start_label: str
    end_label: str
    state: str
    late: int = 0
    received: int = 0


def strip(chart_id: str, title: str, cells: Sequence[StripCell], width: int = WIDTH + 40) -> Markup:
    """The blind-minutes strip: one cell per span, coloured and titled by state, a mark with
    the count over each span that received late records."""
    height, bar_y, bar_h = 46, 16, 16
    n = max(1, len(cells))
    slot = width / n
    blind = sum(1 for c in cells if c.state == "blind")
    late = sum(c.late for c in cells)
    parts = _open(chart_id, "blind-strip", title,
                  f"{len(cells)} spans, {blind} blind, {late} records arrived late by catch-up", width, height,
                  fluid=True)
    x = 0.0
    for name, text in (("heard", "heard from"), ("blind", "blind"), ("idle", "not registered yet")):
        parts.append(f'<rect x="{x:.0f}" y="2" width="10" height="10" fill="{STRIP_COLOURS[name]}"/>'
                     f'<text x="{x + 14:.0f}" y="11" font-size="11">{text}</text>')
        x += 40 + 6 * len(text)
    parts.append(f'<text x="{x:.0f}" y="11" font-size="11">▲ late records</text>')
    for i, c in enumerate(cells):
        cx = i * slot
        what = {"heard": "heard from the daemon", "blind": "blind (nothing heard)", "idle": "not registered"}[c.state]
        note = f", {c.received} records received" if c.received else ""
        note += f", {c.late} late" if c.late else ""
        parts.append(f'<rect class="cell {c.state}" data-state="{c.state}" data-start="{escape(c.start_label)}" '
                     f'data-late="{c.late}" data-received="{c.received}" x="{cx:.2f}" y="{bar_y}" '
                     f'width="{slot + 0.3:.2f}" height="{bar_h}" fill="{STRIP_COLOURS[c.state]}">'
                     f"<title>{escape(c.start_label)} to {escape(c.end_label)}: {what}{escape(note)}</title></rect>")
        if c.late:
            parts.append(f'<text class="late" x="{cx + slot / 2:.1f}" y="{bar_y + bar_h + 12}" font-size="10" '
                         f'text-anchor="middle">▲{c.late}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

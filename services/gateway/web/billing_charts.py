"""Server-rendered SVG bar charts of the billing meters (no script, no CDN): one chart per
meter, one bar per month, the value written above each bar and in the bar's ``<title>`` (what
a screen reader and a tooltip read)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 560
HEIGHT = 180
PAD_TOP = 22
PAD_BOTTOM = 28


def human(value: int, unit: str = "") -> str:
    if unit == "bytes":
        for size, name in ((1024 ** 3, "GiB"), (1024 ** 2, "MiB"), (1024, "KiB")):
            if value >= size:
                return f"{value / size:.1f} {name}"
        return f"{value} B"
    for size, name in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}{name}"
    return str(value)


def bar_chart(chart_id: str, title: str, points: Sequence[tuple[str, int]], unit: str = "") -> Markup:
    """An SVG of ``points`` (label, value), oldest first."""
    n = max(1, len(points))
    slot = WIDTH / n
    bar = max(4.0, slot * 0.6)
    top = max((v for _, v in points), default=0) or 1
    plot = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [f'<svg id="{escape(chart_id)}" class="meter-chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="0" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - PAD_BOTTOM}" stroke="#999"/>']
    for i, (label, value) in enumerate(points):
        h = plot * value / top
        x = i * slot + (slot - bar) / 2
        y = HEIGHT - PAD_BOTTOM - h
        text = human(value, unit)
        parts.append(f'<rect class="bar" data-month="{escape(label)}" data-value="{value}" x="{x:.1f}" y="{y:.1f}" '
                     f'width="{bar:.1f}" height="{h:.1f}" fill="#3b6ea5"><title>{escape(label)}: '
                     f"{escape(text)}</title></rect>")
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 4:.1f}" font-size="10" text-anchor="middle">'
                     f"{escape(text)}</text>")
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" font-size="10" '
                     f'text-anchor="middle">{escape(label[2:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

"""The shared SVG chart module: each chart's marks carry exactly the numbers it was given
(what the page's table shows), with a title and description, and text beside every colour."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from faramesh_cloud.gateway.web import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


def marks(root: ElementTree.Element, cls: str) -> list[ElementTree.Element]:
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def accessible(root: ElementTree.Element) -> None:
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text and desc is not None and desc.text
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"


def test_bar_chart_draws_one_titled_bar_per_point_scaled_to_the_largest() -> None:
    points = [("2026-01", 10), ("2026-02", 0), ("2026-03", 40)]
    root = parse(charts.bar_chart("c", "Records per month", points))
    accessible(root)
    bars = marks(root, "bar")
    assert [(b.get("data-label"), int(b.get("data-value") or -1)) for b in bars] == points
    heights = [float(b.get("height") or 0) for b in bars]
    assert heights[1] == 0 and abs(heights[0] * 4 - heights[2]) < 0.5
    assert [b.find(f"{SVG}title").text for b in bars] == ["2026-01: 10", "2026-02: 0", "2026-03: 40"]  # type: ignore[union-attr]


def test_stacked_chart_segments_sum_to_each_bucket_and_the_deny_rate_is_the_share() -> None:
    buckets = [charts.Bucket("10:00", "10:00-11:00", {"PERMIT": 6, "DENY": 2, "DEFER": 0}),
               charts.Bucket("11:00", "11:00-12:00", {"PERMIT": 0, "DENY": 0}),
               charts.Bucket("12:00", "12:00-13:00", {"PERMIT": 1, "DENY": 3, "SHADOW": 1})]
    root = parse(charts.stacked_chart("d", "Decisions", buckets, ["PERMIT", "DENY", "DEFER", "SHADOW"],
                                      rate_of="DENY"))
    accessible(root)
    groups = marks(root, "bucket")
    assert [int(g.get("data-total") or -1) for g in groups] == [8, 0, 5]
    for g, b in zip(groups, buckets, strict=True):
        segs = {s.get("data-series"): int(s.get("data-value") or 0) for s in marks(g, "seg")}
        assert segs == {k: v for k, v in b.counts.items() if v}
    rates = [float(c.get("data-value") or -1) for c in marks(root, "rate")]
    assert rates == [25.0, 0.0, 60.0]
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"PERMIT", "DENY", "DEFER", "SHADOW", "deny rate"} <= texts  # a label beside every colour
    assert "13 decisions, deny rate 38.5 %" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]


def test_threshold_bars_draw_the_80_and_90_percent_lines_and_each_budgets_share() -> None:
    rows = [("payments-prod", 85.0, 100.0), ("support", 10.0, 40.0), ("batch", 50.0, 50.0), ("idle", 0.0, 0.0)]
    root = parse(charts.threshold_bars("b", "Budget burn", rows, unit="$"))
    accessible(root)
    assert [float(t.get("data-value") or 0) for t in marks(root, "threshold")] == [80.0, 90.0]
    burns = marks(root, "burn")
    assert [(b.get("data-label"), float(b.get("data-value") or -1)) for b in burns] == [
        ("payments-prod", 85.0), ("support", 25.0), ("batch", 100.0), ("idle", 0.0)]
    fills = [b.get("fill") for b in burns]
    assert fills[0] == "#a15c00" and fills[2] == "#b3261e" and fills[1] == charts.BAR_FILL
    assert {"80 %", "90 %"} <= {t.text for t in root.iter(f"{SVG}text")}


def test_sparkline_carries_its_values_and_total() -> None:
    root = parse(charts.sparkline("s", "Decisions per hour", [0, 3, 1, 4]))
    accessible(root)
    assert root.get("data-values") == "0,3,1,4" and root.get("data-total") == "8"
    pts = root.find(f"{SVG}polyline").get("points").split()  # type: ignore[union-attr]
    assert len(pts) == 4 and pts[3].endswith(",2.0")  # the largest value touches the top margin


def test_strip_cells_carry_state_and_late_counts_with_text_labels() -> None:
    cells = [charts.StripCell("a", "b", "heard", 0, 4), charts.StripCell("b", "c", "blind"),
             charts.StripCell("c", "d", "heard", 7, 9), charts.StripCell("d", "e", "idle")]
    root = parse(charts.strip("bm", "Blind minutes", cells))
    accessible(root)
    got = [(c.get("data-state"), int(c.get("data-late") or -1)) for c in marks(root, "cell")]
    assert got == [("heard", 0), ("blind", 0), ("heard", 7), ("idle", 0)]
    assert [t.text for t in marks(root, "late")] == ["▲7"]
    assert "1 blind, 7 records arrived late" in (root.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    titles = [c.find(f"{SVG}title").text for c in marks(root, "cell")]  # type: ignore[union-attr]
    assert titles[1] == "b to c: blind (nothing heard)" and titles[2].endswith("9 records received, 7 late")


def test_text_is_escaped() -> None:
    markup = str(charts.bar_chart("x\"y", "<script>", [("<b>", 1)]))
    assert "<script>" not in markup and "<b>" not in markup
    assert re.search(r'id="x&#34;y"', markup)


def test_pending_histogram_bins_and_median_from_known_waits() -> None:
    from dataclasses import dataclass

    from faramesh_cloud.gateway.web.approval_charts import histogram

    @dataclass
    class Row:
        pending_s: float

    waits = [5, 59.9, 60, 299, 900, 3599, 3600, 86_400, 200_000]
    got = histogram([Row(w) for w in waits])
    assert got is not None
    assert got.counts == [("< 1 min", 2), ("1-5 min", 2), ("5-15 min", 0), ("15-60 min", 2), ("1-4 h", 1),
                          ("4-24 h", 0), ("> 24 h", 2)]
    assert got.total == 9 and got.median_s == 900
    root = parse(got.svg)
    accessible(root)
    assert [int(b.get("data-value") or -1) for b in marks(root, "bar")] == [n for _, n in got.counts]
    assert histogram([]) is None
    assert histogram([Row(10), Row(30)]).median_s == 20  # type: ignore[union-attr]

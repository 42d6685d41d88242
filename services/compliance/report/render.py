"""Draw a report model as an (unsigned) PDF with reportlab.

Pages: cover (title, organisation, range, framework, stacks, the verification hash), executive
summary, chain-integrity certificate, policy coverage and control posture, decision
statistics with charts, approvals, how to verify offline. A range without data says so.

Every text that comes from outside (agent, tool, rule, stack ids, names) goes through
``esc`` before it is put in a Paragraph (whose text is markup). Hashes are drawn in Courier,
a standard font whose text stays as plain ASCII in the page content, one hash per string:
``verify-report`` reads the printed heads and verification hash back from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from faramesh_cloud.compliance.report.model import ReportModel
from faramesh_cloud.compliance.report.verification import ChainHead

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
MONO = "Courier"
EFFECT_COLOURS = {"PERMIT": colors.HexColor("#2e7d32"), "DENY": colors.HexColor("#c62828"),
                  "DEFER": colors.HexColor("#f9a825"), "MODIFY": colors.HexColor("#1565c0"),
                  "SHADOW_PERMIT": colors.HexColor("#a5d6a7"), "SHADOW_DENY": colors.HexColor("#ef9a9a"),
                  "SHADOW_DEFER": colors.HexColor("#ffe082")}


def esc(text: Any) -> str:
    """``text`` safe inside reportlab Paragraph markup."""
    return escape(str(text), {'"': "&quot;"})


def _fonts() -> tuple[str, str]:
    """DejaVu (any script in ids) when the machine has it, else Helvetica (Latin-1)."""
    try:
        if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU / "DejaVuSans.ttf")))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(DEJAVU / "DejaVuSans-Bold.ttf")))
        return "DejaVuSans", "DejaVuSans-Bold"
    except Exception:  # any font problem: fall back to a standard font
        return "Helvetica", "Helvetica-Bold"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


class _Styles:
    def __init__(self) -> None:
        regular, bold = _fonts()
        base = getSampleStyleSheet()
        self.body = ParagraphStyle("body", base["BodyText"], fontName=regular, fontSize=9, leading=12)
        self.small = ParagraphStyle("small", self.body, fontSize=7.5, leading=9)
        self.h1 = ParagraphStyle("h1", base["Heading1"], fontName=bold, fontSize=16, leading=20)
        self.h2 = ParagraphStyle("h2", base["Heading2"], fontName=bold, fontSize=12, leading=15)
        self.title = ParagraphStyle("title", self.h1, fontSize=24, leading=30, spaceAfter=12)
        self.regular, self.bold = regular, bold


def _table(rows: list[list[Any]], widths: Sequence[float] | None, styles: _Styles,
           extra: Sequence[tuple[Any, ...]] = ()) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), styles.regular, 8), ("FONT", (0, 0), (-1, 0), styles.bold, 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eceff1")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0bec5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"), *extra]))
    return table


def _cell(text: Any, styles: _Styles) -> Paragraph:
    return Paragraph(esc(text), styles.small)


def _cover(model: ReportModel, verification_hash: str, appendix_sha256: str, records: int,
           s: _Styles) -> list[Any]:
    p = model.parameters
    rows = [["Organisation", _cell(f"{p.org_name} ({p.org_slug})", s)],
            ["Framework", _cell(p.framework_title, s)],
            ["Range", f"{_when(p.start)}  to  {_when(p.end)}"],
            ["Stacks", _cell(", ".join(p.stack_label(i) for i in p.stacks) or "all", s)],
            ["Generated", _cell(f"{_when(p.generated_at)} by {p.generated_by}", s)],
            ["DPRs in the appendix", f"{records:,}"]]
    story: list[Any] = [Spacer(1, 30 * mm), Paragraph("Faramesh Cloud compliance report", s.title),
                        Paragraph(esc(p.framework_title), s.h1), Spacer(1, 8 * mm),
                        _table([["", ""], *rows], [45 * mm, 125 * mm], s, [("BACKGROUND", (0, 0), (-1, 0), colors.white)]),
                        Spacer(1, 10 * mm), Paragraph("Verification hash (SHA-256)", s.h2)]
    hashes = Table([["verification", verification_hash], ["appendix", appendix_sha256]],
                   colWidths=[25 * mm, 145 * mm])
    hashes.setStyle(TableStyle([("FONT", (0, 0), (0, -1), s.regular, 8), ("FONT", (1, 0), (1, -1), MONO, 8.5)]))
    story += [hashes, Spacer(1, 4 * mm), Paragraph(
        "This document is signed (PAdES). The full signed DPR export of the range is attached to it "
        "(dpr-appendix.json) with its chain heads (chain-heads.json). The last page says how to check "
        "everything offline, without Cloud.", s.body)]
    if model.empty:
        story += [Spacer(1, 6 * mm), Paragraph(
            "<b>There is no data in this range:</b> no DPR was recorded for the selected stacks "
            f"between {esc(_when(p.start))} and {esc(_when(p.end))}.", s.body)]
    return [*story, PageBreak()]


def _summary(model: ReportModel, s: _Styles) -> list[Any]:
    x = model.summary()
    rows = [["Figure", "Value"], ["Decisions (verified DPRs)", f"{x.decisions:,}"],
            ["Deny rate", _pct(x.deny_rate)], ["Stacks", str(x.stacks)], ["Agent chains", str(x.agent_chains)],
            ["Chains with findings in range", str(x.chains_with_findings)], ["Findings in range", str(x.findings)],
            ["Approvals", str(x.approvals)],
            ["Agents with full / partial / no policy coverage", f"{x.agents_full} / {x.agents_partial} / {x.agents_gap}"],
            ["Controls covered by evidence / by policy / gaps",
             f"{x.controls_evidence} / {x.controls_policy} / {x.controls_gap}"]]
    story: list[Any] = [Paragraph("Executive summary", s.h1)]
    if model.empty:
        story.append(Paragraph("There is no data in this range: no decision was recorded, so there are no "
                               "statistics, coverage or chain heads to certify.", s.body))
    if model.stats.unverified_summaries:
        story.append(Paragraph(f"{model.stats.unverified_summaries:,} unverified decision summaries (legacy feed, "
                               "not DPRs) are not counted and not in the appendix.", s.body))
    return [*story, _table(rows, [110 * mm, 50 * mm], s)]


def _certificate(model: ReportModel, heads: Sequence[ChainHead], s: _Styles) -> list[Any]:
    story: list[Any] = [PageBreak(), Paragraph("Chain-integrity certificate", s.h1), Paragraph(
        "Per stack and agent chain: its head in the range (the last record of the chain in the appendix, "
        "by chain index and record hash), its length, segments and findings, and when Cloud last verified "
        "it. verify-report checks every head below against the appendix.", s.body), Spacer(1, 3 * mm)]
    rows: list[list[Any]] = [["Stack", "Agent", "Head #", "In range", "Length", "Segments", "Findings", "Verified"]]
    extra: list[tuple[Any, ...]] = []
    certified = {(c.stack_id, c.agent_id): c for c in model.certificate}
    for head in heads:
        c = certified.get((head.stack_id, head.agent_id))
        rows.append([_cell(model.parameters.stack_label(head.stack_id), s), _cell(head.agent_id, s),
                     "-" if head.chain_index is None else str(head.chain_index),
                     *(["-"] * 5 if c is None else [f"{c.records_in_range:,}", f"{c.length:,}", str(c.segments),
                                                     str(c.findings_in_range), _when(c.verified_at)])])
        rows.append(["head", head.record_hash, "", "", "", "", "", ""])
        n = len(rows) - 1
        extra += [("SPAN", (1, n), (-1, n)), ("FONT", (1, n), (1, n), MONO, 7.5)]
    if not heads:
        rows.append(["No chain has a record in this range.", "", "", "", "", "", "", ""])
        extra.append(("SPAN", (0, 1), (-1, 1)))
    widths = [24 * mm, 36 * mm, 14 * mm, 16 * mm, 16 * mm, 15 * mm, 15 * mm, 34 * mm]
    return [*story, _table(rows, widths, s, extra)]


def _coverage(model: ReportModel, s: _Styles) -> list[Any]:
    story: list[Any] = [PageBreak(), Paragraph("Policy coverage", s.h1), Paragraph(
        "Per agent, from the tools it called in the range against the rules the daemon enforced: full when every "
        "call matched an explicit rule, gap when none did (a default is not coverage).", s.body), Spacer(1, 3 * mm)]
    rows: list[list[Any]] = [["Stack", "Agent", "Status", "Tools called", "Tools without a rule"]]
    for r in model.coverage:
        rows.append([_cell(model.parameters.stack_label(r.stack_id), s), _cell(r.agent_id, s), str(r.status),
                     _cell(", ".join(r.tools), s), _cell(", ".join(r.gap_tools) or "-", s)])
    if not model.coverage:
        rows.append(["No agent called a tool in this range.", "", "", "", ""])
    story.append(_table(rows, [25 * mm, 35 * mm, 16 * mm, 55 * mm, 40 * mm], s,
                        [("SPAN", (0, 1), (-1, 1))] if not model.coverage else []))
    if model.posture:
        story += [Spacer(1, 6 * mm), Paragraph(f"Control posture: {esc(model.parameters.framework_title)}", s.h2)]
        rows = [["Control", "Title", "Status"]]
        rows += [[_cell(p.control_id, s), _cell(p.title, s), str(p.status)] for p in model.posture]
        story.append(_table(rows, [30 * mm, 115 * mm, 25 * mm], s))
    return story


def _bar_effects(model: ReportModel, s: _Styles) -> Drawing:
    buckets = model.stats.buckets
    effects = sorted({e for b in buckets for e in b.counts}) or ["PERMIT"]
    drawing = Drawing(170 * mm, 70 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 12 * mm, 125 * mm, 50 * mm
    chart.data = [[b.counts.get(e, 0) for b in buckets] or [0] for e in effects]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = [b.start.strftime("%m-%d %H:%M") for b in buckets] or [""]
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    for i, effect in enumerate(effects):
        chart.bars[i].fillColor = EFFECT_COLOURS.get(effect, colors.HexColor("#546e7a"))
    legend = Legend()
    legend.x, legend.y, legend.fontSize = 142 * mm, 60 * mm, 7
    legend.alignment = "right"  # the swatch left of its label, one effect per row
    legend.columnMaximum = len(effects)
    legend.colorNamePairs = [(EFFECT_COLOURS.get(e, colors.HexColor("#546e7a")), e) for e in effects]
    drawing.add(chart)
    drawing.add(legend)
    return drawing


def _bar_top(pairs: Sequence[tuple[str, int]], colour: colors.Color) -> Drawing:
    pairs = list(pairs)[:10] or [("-", 0)]
    drawing = Drawing(170 * mm, (12 + 6 * len(pairs)) * mm)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 50 * mm, 5 * mm, 110 * mm, 6 * len(pairs) * mm
    chart.data = [[count for _, count in reversed(pairs)]]
    chart.categoryAxis.categoryNames = [name if len(name) <= 32 else name[:31] + "…" for name, _ in reversed(pairs)]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.labels.fontSize = 7
    chart.bars[0].fillColor = colour
    drawing.add(chart)
    return drawing


def _deny_rate(model: ReportModel) -> Drawing:
    buckets = model.stats.buckets
    rates = []
    for b in buckets:
        total = sum(b.counts.values())
        denied = sum(c for e, c in b.counts.items() if e.upper().startswith("DENY"))
        rates.append(round(100 * denied / total, 1) if total else 0)
    drawing = Drawing(170 * mm, 55 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 12 * mm, 10 * mm, 140 * mm, 40 * mm
    chart.data = [rates or [0]]
    chart.categoryAxis.categoryNames = [b.start.strftime("%m-%d %H:%M") for b in buckets] or [""]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 45
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin, chart.valueAxis.valueMax = 0, 100
    chart.valueAxis.labels.fontSize = 7
    chart.lines[0].strokeColor = EFFECT_COLOURS["DENY"]
    chart.lines[0].symbol = makeMarker("FilledCircle", size=3)  # one bucket is a point, not a line
    drawing.add(chart)
    drawing.add(String(12 * mm, 52 * mm, "deny rate per bucket (%)", fontSize=7))
    return drawing


def _statistics(model: ReportModel, s: _Styles) -> list[Any]:
    st = model.stats
    story: list[Any] = [PageBreak(), Paragraph("Decision statistics", s.h1)]
    if model.empty:
        return [*story, Paragraph("There is no data in this range: no decision to chart.", s.body)]
    effects = ", ".join(f"{esc(e)} {c:,}" for e, c in st.by_effect.items())
    story += [Paragraph(f"{st.total:,} decisions ({effects}); deny rate {_pct(st.deny_rate)}.", s.body),
              Paragraph("Effects over time", s.h2), _bar_effects(model, s),
              Paragraph("Deny rate", s.h2), _deny_rate(model),
              Paragraph("Top tools", s.h2), _bar_top(st.top_tools, colors.HexColor("#1565c0"))]
    for title, pairs in (("Top agents", st.top_agents), ("Top rules", st.top_rules)):
        rows: list[list[Any]] = [[title[4:].capitalize()[:-1], "Decisions"]]
        rows += [[_cell(name, s), f"{count:,}"] for name, count in pairs[:10]] or [["-", "0"]]
        story += [Paragraph(title, s.h2), _table(rows, [120 * mm, 30 * mm], s)]
    return story


def _approvals(model: ReportModel, s: _Styles) -> list[Any]:
    a = model.approvals
    rows: list[list[Any]] = [["Outcome", "Requests"]]
    rows += [[_cell(k, s), f"{v:,}"] for k, v in sorted(a.by_outcome.items())] or [["-", "0"]]
    figures = [["Figure", "Value"], ["Median pending time", _duration(a.median_pending_s)],
               ["95th percentile pending time", _duration(a.p95_pending_s)],
               ["Bulk actions", str(a.bulk_actions)], ["Expired without a decision", str(a.expired)]]
    approvers: list[list[Any]] = [["Approver", "Decisions"]]
    approvers += [[_cell(who, s), f"{n:,}"] for who, n in a.approvers] or [["-", "0"]]
    return [PageBreak(), Paragraph("Approval workflow", s.h1), _table(rows, [80 * mm, 30 * mm], s),
            Spacer(1, 4 * mm), _table(figures, [80 * mm, 30 * mm], s), Spacer(1, 4 * mm),
            _table(approvers, [80 * mm, 30 * mm], s)]


def _how_to_verify(s: _Styles) -> list[Any]:
    steps = [
        "Get the platform's public keys: the ed25519 signing key (GET /api/v1/platform/signing-key?format=pem) "
        "and the document certificate the report is signed with (it is in the PDF; the platform serves it too).",
        "Run <font face='Courier'>faramesh-cloud verify-report REPORT.pdf --platform-key platform.pem "
        "--certificate document-cert.pem</font>. It needs no account and no network.",
        "It checks, in order: the PDF signature (PAdES; trust root the certificate given, else the one the PDF "
        "carries, and it says which); the appendix's ed25519 signature; every DPR hash recomputed from its raw "
        "bytes and every chain link between consecutive records; that the chain heads printed in the "
        "certificate and in chain-heads.json are the appendix's; that the verification hash is the one below "
        "recomputed. Exit 0: all hold; 1: it names the first check that failed; 2: the file is unreadable.",
        "By hand: the verification hash is SHA-256 of the canonical JSON (sorted keys, no blanks) of "
        "{\"version\": \"faramesh-cloud/report-verification/v1\", \"appendix_sha256\": SHA-256 of "
        "dpr-appendix.json, \"heads\": the chain heads sorted by stack and agent, each {stack_id, agent_id, "
        "chain_index, record_hash}}. The appendix alone: faramesh-cloud verify-bundle dpr-appendix.json "
        "--public-key platform.pem.",
        "Any PDF reader that checks signatures (Acrobat, poppler's pdfsig) shows the document signature; "
        "it is ECDSA P-256 with SHA-256."]
    return [PageBreak(), Paragraph("How to verify this report offline", s.h1),
            *[Paragraph(f"{i}. {text}", s.body) for i, text in enumerate(steps, 1)]]


def render_pdf(path: Path, model: ReportModel, *, verification_hash: str, appendix_sha256: str,
               records: int, heads: Sequence[ChainHead]) -> None:
    """Write the unsigned report PDF to ``path``."""
    s = _Styles()
    p = model.parameters
    doc = SimpleDocTemplate(
        str(path), pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm, bottomMargin=16 * mm,
        title=f"Compliance report: {p.framework_title}, {p.org_name}", author="Faramesh Cloud",
        subject=f"verification hash sha256:{verification_hash}",
        keywords=f"faramesh, compliance, {p.framework}, verification-hash:{verification_hash}",
        creator="Faramesh Cloud")

    def footer(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(s.regular, 7)
        canvas.drawString(18 * mm, 9 * mm, f"{p.org_name}: {p.framework_title}, {_when(p.start)} to {_when(p.end)}")
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"page {document.page}")
        canvas.restoreState()

    story = [*_cover(model, verification_hash, appendix_sha256, records, s), *_summary(model, s),
             *_certificate(model, heads, s), *_coverage(model, s), *_statistics(model, s),
             *_approvals(model, s), *_how_to_verify(s)]
    doc.build(story, onFirstPage=footer, onLaterPages=footer)

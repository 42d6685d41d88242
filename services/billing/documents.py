"""An issued invoice as documents people keep: a PDF (reportlab, ``invariant``: no creation
time or random document id in the bytes) and a CSV (one row per line item, then the total).
Both are pure functions of the invoice as issued, so every download, and a download after a
rebuild from the log, gives identical bytes."""

from __future__ import annotations

import csv
import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from faramesh_cloud.billing.domain import Invoice, money

CSV_HEADER = ("invoice_number", "month", "description", "meter", "quantity", "included", "billable",
              "unit_price", "per", "amount", "currency")


def _units(n: int) -> str:
    return f"{n:,}"


def invoice_csv(invoice: Invoice) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for line in invoice.lines:
        writer.writerow((invoice.invoice_number, invoice.month, line.description, line.meter, line.quantity,
                         line.included, line.billable, f"{line.unit_cents / 100:.2f}", line.per,
                         f"{line.amount_cents / 100:.2f}", invoice.currency))
    writer.writerow((invoice.invoice_number, invoice.month, "Total", "", "", "", "", "", "",
                     f"{invoice.total_cents / 100:.2f}", invoice.currency))
    return out.getvalue().encode("utf-8")


def invoice_pdf(invoice: Invoice) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, invariant=1, title=f"Invoice {invoice.invoice_number}",
                            author="Faramesh Cloud", leftMargin=18 * mm, rightMargin=18 * mm)
    styles = getSampleStyleSheet()
    issued = invoice.issued_at.strftime("%Y-%m-%d %H:%M UTC")
    story = [
        Paragraph(f"Invoice {invoice.invoice_number}", styles["Title"]),
        Paragraph(f"Period: {invoice.month} (UTC) &nbsp; Plan: {invoice.plan_name} &nbsp; "
                  f"Organisation: {invoice.org_id}", styles["Normal"]),
        Paragraph(f"Issued {issued} by {invoice.issued_by}. Usage metered by Faramesh Cloud from its log; "
                  "no payment is taken by Cloud.", styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    rows = [["Item", "Quantity", "Included", "Billable", "Unit price", "Amount"]]
    for line in invoice.lines:
        unit = money(line.unit_cents, invoice.currency) + (f" / {_units(line.per)}" if line.per > 1 else "")
        rows.append([Paragraph(line.description, styles["Normal"]), _units(line.quantity), _units(line.included),
                     _units(line.billable), unit, money(line.amount_cents, invoice.currency)])
    rows.append(["Total", "", "", "", "", money(invoice.total_cents, invoice.currency)])
    table = Table(rows, colWidths=[60 * mm, 22 * mm, 22 * mm, 22 * mm, 28 * mm, 30 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"), ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black), ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    story.append(table)
    doc.build(story)
    return buf.getvalue()

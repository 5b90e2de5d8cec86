"""Finance exports: invoice lines as streamed CSV (flat memory), and an invoice as PDF.

The CSV is produced from the stored lines only, in id order, so exporting a month twice gives
the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date

from django.db.models import CharField, F, Func, QuerySet, Value
from django.db.models.functions import Cast, Concat, LPad

from billing.models import Invoice, InvoiceLine, LineKind
from billing.pdf import render_pdf

CSV_HEADER = (
    "invoice",
    "workspace",
    "period",
    "kind",
    "ticket_number",
    "resolved_at",
    "amount",
    "currency",
    "outcome_id",
)
CHUNK_ROWS = 5000
FLUSH_BYTES = 256 * 1024
PDF_MAX_LINES = 5000


def _utc_text(field: str) -> Func:
    return Func(
        F(field),
        template="to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
        output_field=CharField(),
    )


def _lines_csv(lines: QuerySet[InvoiceLine], *, chunk_size: int = CHUNK_ROWS) -> Iterator[bytes]:
    # Postgres formats every column as text, so Python only joins strings: parsing a million
    # timestamps and Decimals just to print them again would be most of the export's time.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    rows = (
        lines.order_by("invoice_id", "id")
        .annotate(
            label=Concat(
                Value("INV-"),
                Cast("invoice__workspace_id", CharField()),
                Value("-"),
                LPad(Cast("invoice__number", CharField()), 5, Value("0")),
                output_field=CharField(),
            ),
            period_text=Func(F("invoice__period"), Value("YYYY-MM"), function="to_char", output_field=CharField()),
            resolved_text=_utc_text("resolved_at"),
            amount_text=Cast("amount", CharField()),
        )
        .values_list(
            "label",
            "invoice__workspace__slug",
            "period_text",
            "kind",
            "ticket_number",
            "resolved_text",
            "amount_text",
            "currency",
            "outcome_id",
        )
        .iterator(chunk_size=chunk_size)
    )
    writerow = writer.writerow
    for n, row in enumerate(rows, start=1):
        writerow(row)
        if n % 2000 == 0 and buffer.tell() > FLUSH_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def invoice_csv(invoice: Invoice, *, chunk_size: int = CHUNK_ROWS) -> Iterator[bytes]:
    return _lines_csv(InvoiceLine.objects.filter(invoice=invoice), chunk_size=chunk_size)


def period_csv(invoices: QuerySet[Invoice], period: date, *, chunk_size: int = CHUNK_ROWS) -> Iterator[bytes]:
    """Every line of every invoice (of `invoices`) for the month starting at `period`."""
    return _lines_csv(
        InvoiceLine.objects.filter(invoice__in=invoices.filter(period=period).values("pk")), chunk_size=chunk_size
    )


def invoice_filename(invoice: Invoice, ext: str) -> str:
    return f"{invoice.workspace.slug}-{invoice.display_number}-{invoice.period:%Y-%m}.{ext}"


def invoice_pdf(invoice: Invoice) -> bytes:
    workspace = invoice.workspace
    text = [
        f"Support Oasis - Invoice {invoice.display_number}",
        "",
        f"Workspace: {workspace.name} ({workspace.slug})",
        f"Period:    {invoice.period:%Y-%m}",
        f"Issued:    {invoice.issued_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        f"Status:    {invoice.get_status_display()}",
        "",
        f"{'Kind':<8} {'Ticket':>8}  {'Resolved at (UTC)':<20} {'Amount':>12} Cur",
        "-" * 60,
    ]
    lines = invoice.lines.order_by("id").values_list("kind", "ticket_number", "resolved_at", "amount", "currency")
    shown = 0
    for kind, ticket_number, resolved_at, amount, currency in lines[:PDF_MAX_LINES].iterator(chunk_size=CHUNK_ROWS):
        label = "outcome" if kind == LineKind.CHARGE else "credit"
        text.append(
            f"{label:<8} {'#' + str(ticket_number):>8}  {resolved_at.astimezone(UTC):%Y-%m-%d %H:%M}     "
            f"{amount:>12} {currency}"
        )
        shown += 1
    if invoice.line_count > shown:
        text.append(f"... {invoice.line_count - shown} more lines: see the CSV export.")
    tax_label = "Tax (" + str(invoice.tax_rate * 100).rstrip("0").rstrip(".") + " %)"
    text += [
        "-" * 60,
        f"{'Subtotal':<40}{invoice.subtotal:>12} {invoice.currency}",
        f"{'Credits':<40}{invoice.credits:>12} {invoice.currency}",
        f"{tax_label:<40}{invoice.tax:>12} {invoice.currency}",
        f"{'Total':<40}{invoice.total:>12} {invoice.currency}",
        "",
        f"{invoice.line_count} lines. Each outcome's evidence is in the Outcomes admin and the ticket's audit trail.",
    ]
    return render_pdf(text, title=f"Invoice {invoice.display_number}")

"""Billing benchmark: 1,000,000 outcomes created in SQL, finalised, invoiced, exported as CSV.

Run with `make bench-billing`. It uses its own embedded Postgres (var/bench-billing-pg, wiped at
the start) and prints one JSON object on the last line: export_rows_per_s, peak_rss_mb, ...
Set BENCH_OUTCOMES to run a smaller size.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-billing-pg")))
os.environ.setdefault("OASIS_TESTING", "1")  # a local key and hosts; nothing else changes
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, peak_rss_mb, rss_mb, say  # noqa: E402

N = int(os.environ.get("BENCH_OUTCOMES", "1000000"))


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audit.services import Actor
    from billing.export import invoice_csv
    from billing.services import invoice_generate, outcomes_finalize_due, plan_for
    from helpdesk.services import ticket_create, workspace_create

    call_command("migrate", verbosity=0)
    workspace = workspace_create(name="Bench", slug="bench", actor=Actor.system("bench"))
    plan_for(workspace)
    first = ticket_create(workspace=workspace, channel="chat", customer_email="b@bench.test", subject="s", body="b")

    # The month two months back: every window ends inside it, so one invoice holds them all.
    today = datetime.now(UTC)
    year, month = (today.year, today.month - 2) if today.month > 2 else (today.year - 1, today.month + 10)
    start = datetime(year, month, 1, tzinfo=UTC)

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO helpdesk_ticket (workspace_id, number, customer_id, subject, channel, status, ticket_type,
                priority, external_id, ai_decision, ai_reason, created_at, updated_at, last_message_at)
            SELECT %(ws)s, g + 1, %(customer)s, 'Where is my order?', 'chat', 'pending', 'order_status',
                'normal', '', 'autosend', '', %(start)s, %(start)s, %(start)s
            FROM generate_series(1, %(n)s) AS g
            """,
            {"ws": workspace.pk, "customer": first.customer_id, "start": start - timedelta(days=3), "n": N},
        )
        cursor.execute(
            """
            INSERT INTO billing_outcome (workspace_id, ticket_id, status, evidence, ai_replied_at, window_ends_at,
                price, currency, created_at)
            SELECT t.workspace_id, t.id, 'pending',
                jsonb_build_object('ai_replies', '[]'::jsonb, 'resolution', NULL, 'window_hours', 72),
                r.at, r.at + interval '72 hours', 0.50, 'USD', now()
            FROM helpdesk_ticket t
            CROSS JOIN LATERAL (
                SELECT %(start)s::timestamptz - interval '72 hours' + (t.number %% 2419200) * interval '1 second' AS at
            ) r
            WHERE t.workspace_id = %(ws)s AND t.id <> %(first)s
            """,
            {"ws": workspace.pk, "start": start, "first": first.pk},
        )
        cursor.execute("ANALYZE helpdesk_ticket; ANALYZE billing_outcome; ANALYZE helpdesk_message")
    insert_s = time.perf_counter() - t0
    say(f"created {N:,} tickets + outcomes in SQL: {insert_s:.1f} s")

    t0 = time.perf_counter()
    finalized = outcomes_finalize_due(batch_size=50_000)
    finalize_s = time.perf_counter() - t0
    say(f"finalised {finalized:,} outcomes: {finalize_s:.1f} s ({finalized / finalize_s:,.0f} rows/s)")

    t0 = time.perf_counter()
    invoice = invoice_generate(workspace=workspace, year=year, month=month)
    invoice_s = time.perf_counter() - t0
    say(f"invoice {invoice.display_number}: {invoice.line_count:,} lines, {invoice.total} {invoice.currency}")
    say(f"invoiced in {invoice_s:.1f} s")
    again = invoice_generate(workspace=workspace, year=year, month=month)
    assert again.pk == invoice.pk and again.total == invoice.total

    rss_before = rss_mb()
    rss_during = rss_before
    rows = size = 0
    t0 = time.perf_counter()
    for chunks, chunk in enumerate(invoice_csv(invoice), start=1):
        size += len(chunk)
        rows += chunk.count(b"\n")
        if chunks % 8 == 0:
            rss_during = max(rss_during, rss_mb())
    export_s = time.perf_counter() - t0
    rows -= 1  # the header
    assert rows == invoice.line_count, (rows, invoice.line_count)
    rate = rows / export_s
    say(f"exported {rows:,} CSV rows ({size / 1e6:.1f} MB): {export_s:.1f} s ({rate:,.0f} rows/s)")
    say(f"RSS before export {rss_before:.0f} MB, max during export {rss_during:.0f} MB, peak {peak_rss_mb():.0f} MB")
    print(
        json.dumps(
            {
                "outcomes": N,
                "insert_s": round(insert_s, 1),
                "finalize_rows_per_s": round(finalized / finalize_s),
                "invoice_s": round(invoice_s, 1),
                "export_rows": rows,
                "export_mb": round(size / 1e6, 1),
                "export_rows_per_s": round(rate),
                "rss_before_export_mb": round(rss_before, 1),
                "rss_max_during_export_mb": round(rss_during, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        )
    )


if __name__ == "__main__":
    main()

"""Inbox benchmark: the list and the ticket page over a 1,000,000-ticket workspace.

Run with `make bench-inbox`. Its own embedded Postgres (var/bench-inbox-pg, wiped at the start):
100,000 customers and 1,000,000 tickets made with generate_series, plus one ticket with 50
messages and a Copilot run. It times the inbox list (first page, and filtered by AI state and
confidence) and that ticket's page through the Django test client (server time: URL resolution,
views, queries, templates) and prints one JSON object on the last line:
{list_p50_ms, list_p95_ms, ticket_p50_ms, ticket_p95_ms, list_queries, ticket_queries, ...}.
Set BENCH_TICKETS to run a smaller size and BENCH_REQUESTS for the number of timed requests.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-inbox-pg")))
os.environ.setdefault("OASIS_TESTING", "1")  # a local key and test hosts; nothing else changes
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, say  # noqa: E402

N = int(os.environ.get("BENCH_TICKETS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "30"))
MESSAGES = 50


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def timed(client: Any, url: str) -> tuple[list[float], int]:
    from django.db import connection

    for _ in range(3):  # warm caches, template loaders, the connection
        assert client.get(url).status_code == 200
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    times = []
    for _ in range(REQUESTS):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    return times, len(queries)


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from ai.copilot import copilot_draft
    from audit.services import Actor
    from helpdesk.models import Role
    from helpdesk.services import membership_add, ticket_create, workspace_create

    call_command("migrate", verbosity=0)
    workspace = workspace_create(name="Bench", slug="bench", actor=Actor.system("bench"))
    user = get_user_model().objects.create_user(username="m@bench.test", email="m@bench.test", password=None)
    membership_add(workspace=workspace, user=user, role=Role.MANAGER, actor=Actor.system("bench"))

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO helpdesk_customer (workspace_id, email, name, created_at)
            SELECT %(ws)s, 'c' || g || '@bench.test', 'Customer ' || g, now()
            FROM generate_series(1, %(n)s) AS g
            """,
            {"ws": workspace.pk, "n": max(1, N // 10)},
        )
        cursor.execute(
            """
            INSERT INTO helpdesk_ticket (workspace_id, number, customer_id, subject, channel, status, ticket_type,
                priority, external_id, ai_decision, ai_confidence, ai_reason, created_at, updated_at, last_message_at)
            SELECT %(ws)s, g, c.first + (g %% %(customers)s),
                (ARRAY['Where is my order?', 'Refund for damaged jacket', 'Do the boots run small?',
                       'Change my address', 'Cannot sign in'])[1 + g %% 5],
                (ARRAY['email', 'chat', 'web', 'api'])[1 + g %% 4],
                (ARRAY['new', 'open', 'pending', 'resolved', 'closed'])[1 + g %% 5],
                (ARRAY['order_status', 'refund', 'product_question', 'account_change', 'password_reset'])[1 + g %% 5],
                'normal', '',
                (ARRAY['autosend', 'draft', 'escalate', 'awaiting_approval', ''])[1 + (g / 7) %% 5],
                CASE WHEN g %% 5 = 4 THEN NULL ELSE ((g::bigint * 7919) %% 1000) / 1000.0 END,
                CASE WHEN (g / 7) %% 5 = 2 THEN 'no matching article' ELSE '' END,
                now() - (g || ' minutes')::interval, now(), now() - (g || ' minutes')::interval
            FROM generate_series(1, %(n)s) AS g, (SELECT min(id) AS first FROM helpdesk_customer) AS c
            """,
            {"ws": workspace.pk, "n": N, "customers": max(1, N // 10)},
        )
    insert_s = time.perf_counter() - t0
    say(f"created {N:,} tickets and {max(1, N // 10):,} customers in SQL: {insert_s:.1f} s")

    ticket = ticket_create(
        workspace=workspace,
        channel="email",
        customer_email="long@bench.test",
        customer_name="Long Thread",
        subject="A long conversation",
        body="Hello, my order A1001 has not arrived.",
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO helpdesk_message (ticket_id, kind, author_kind, author_user_id, body, email_message_id,
                created_at)
            SELECT %(t)s, CASE WHEN g %% 2 = 0 THEN 'customer' ELSE 'reply' END,
                CASE WHEN g %% 2 = 0 THEN 'customer' ELSE 'agent' END,
                CASE WHEN g %% 2 = 0 THEN NULL ELSE %(u)s END,
                'Message ' || g || E': thanks for your patience.\nWe are looking into the delivery of your order.',
                '', now() + (g || ' seconds')::interval
            FROM generate_series(1, %(n)s) AS g
            """,
            {"t": ticket.pk, "u": user.pk, "n": MESSAGES - 1},
        )
        cursor.execute("ANALYZE")
    copilot_draft(ticket=ticket, user=user)  # what the sidebar would show; not part of the page's time
    assert ticket.messages.count() == MESSAGES

    # Keep one connection across requests, as a web process with CONN_MAX_AGE does (and as the
    # test client does), so the timings are the views' and the query counts can be captured.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    list_times, list_queries = timed(client, "/inbox/")
    filtered_times, filtered_queries = timed(client, "/inbox/?ai_decision=escalate&confidence_min=20&confidence_max=60")
    ticket_times, ticket_queries = timed(client, f"/inbox/tickets/{ticket.pk}/")
    sidebar_times, sidebar_queries = timed(client, f"/inbox/tickets/{ticket.pk}/copilot/")

    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, q), 1)

    say(f"inbox list: p50 {ms(list_times, 0.5)} ms, p95 {ms(list_times, 0.95)} ms, {list_queries} queries")
    say(f"filtered list: p50 {ms(filtered_times, 0.5)} ms, p95 {ms(filtered_times, 0.95)} ms")
    say(f"ticket page ({MESSAGES} messages): p50 {ms(ticket_times, 0.5)} ms, p95 {ms(ticket_times, 0.95)} ms")
    say(f"copilot sidebar (cached run): p50 {ms(sidebar_times, 0.5)} ms, p95 {ms(sidebar_times, 0.95)} ms")
    print(
        json.dumps(
            {
                "tickets": N,
                "requests": REQUESTS,
                "list_p50_ms": ms(list_times, 0.5),
                "list_p95_ms": ms(list_times, 0.95),
                "filtered_list_p50_ms": ms(filtered_times, 0.5),
                "filtered_list_p95_ms": ms(filtered_times, 0.95),
                "sidebar_p50_ms": round(statistics.median(sidebar_times), 1),
                "sidebar_queries": sidebar_queries,
                "filtered_list_queries": filtered_queries,
                "ticket_p50_ms": ms(ticket_times, 0.5),
                "ticket_p95_ms": ms(ticket_times, 0.95),
                "list_queries": list_queries,
                "ticket_queries": ticket_queries,
            }
        ),
        flush=True,
    )
    subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()

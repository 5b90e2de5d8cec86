"""Reports benchmark: 1,000,000 tickets (+ runs, outcomes, feedback, approvals, reopens) made with
SQL generate_series, the daily rollup caught up (timed: rollup_s), then the full reports
computation for a 30-day period, timed over 10 runs (29 closed days from the rollup, today live).

Run with `make bench-reports`. Its own embedded Postgres (var/bench-reports-pg, wiped at the
start); the last line is JSON with reports_p95_ms. BENCH_TICKETS sets a smaller size.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-reports-pg")))
os.environ.setdefault("OASIS_TESTING", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, say  # noqa: E402

N = int(os.environ.get("BENCH_TICKETS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "10"))
DAYS = 365  # tickets spread over a year: a 30-day period holds about 1/12 of them

QUESTIONS = [
    "Do you offer gift wrapping for a birthday present?",
    "Can you gift wrap my order?",
    "How do I become a wholesale partner?",
    "Do you ship to Iceland?",
    "Is there a student discount?",
    "Can I pay with a bank transfer?",
    "Do you have a store in Berlin?",
    "Are your jackets vegan?",
]


TICKETS_SQL = """
INSERT INTO helpdesk_ticket (workspace_id, number, customer_id, subject, channel, status, ticket_type, priority,
    external_id, ai_decision, ai_confidence, ai_reason, created_at, updated_at, last_message_at)
SELECT %(ws)s, g + 1, %(customer)s, 'Question ' || g,
    (ARRAY['email','chat','web','api'])[1 + g %% 4], 'open',
    (ARRAY['order_status','refund','replacement','product_question',
           'password_reset','legal','complaint','other'])[1 + g %% 8],
    'normal', '',
    (ARRAY['autosend','draft','escalate','escalate',
           'awaiting_approval','autosend','draft','escalate'])[1 + (g / 3) %% 8],
    0.7,
    (ARRAY['confidence 0.70 below threshold 0.85','human-needed type: legal','no matching article',
           'provider failure: timeout','customer asked for a human','customer said it did not solve it',
           'Rejected issue_refund: too much','copilot mode: a human sends every reply'])[1 + g %% 8],
    t, t, t
FROM generate_series(1, %(n)s) AS g
CROSS JOIN LATERAL (
    SELECT %(now)s::timestamptz - (g %% %(days)s) * interval '1 day' - (g %% 86400) * interval '1 second' AS t
) x
"""

RUNS_SQL = """
INSERT INTO ai_agentrun (workspace_id, ticket_id, kind, status, ticket_type, language, sentiment, triage,
    redacted_input, passages, tool_calls, draft, citations, confidence, raw_confidence, confidence_parts,
    decision, reason, rule, provider, model, prompt_version, error, created_at, finished_at)
SELECT t.workspace_id, t.id, 'agent', 'done', t.ticket_type, 'en', 'neutral', '{}'::jsonb,
    CASE WHEN t.ai_reason = 'no matching article' THEN (%(questions)s::text[])[1 + t.number %% %(nq)s] ELSE '' END,
    '[]'::jsonb, '[]'::jsonb, '', '[]'::jsonb, 0.7, 0.7, '{}'::jsonb,
    CASE WHEN t.ai_decision IN ('escalate', 'draft') THEN t.ai_decision ELSE t.ai_decision END,
    CASE WHEN t.ai_decision IN ('escalate', 'draft') THEN t.ai_reason ELSE '' END,
    '{}'::jsonb, 'local', 'bench', 'v1', '', t.created_at + interval '1 minute', t.created_at + interval '2 minutes'
FROM helpdesk_ticket t WHERE t.workspace_id = %(ws)s AND t.number %% 5 <> 0
"""

OUTCOMES_SQL = """
INSERT INTO billing_outcome (workspace_id, ticket_id, status, evidence, ai_replied_at, window_ends_at, resolved_at,
    finalized_at, price, currency, created_at)
SELECT t.workspace_id, t.id, (ARRAY['confirmed','billed','billed','credited','voided'])[1 + t.number %% 5], '{}'::jsonb,
    t.created_at, t.created_at + interval '72 hours',
    CASE WHEN t.number %% 5 = 4 THEN NULL ELSE t.created_at + interval '72 hours' END,
    t.created_at + interval '72 hours', 0.50, 'USD', t.created_at
FROM helpdesk_ticket t WHERE t.workspace_id = %(ws)s AND t.number %% 10 < 3
"""

FEEDBACK_SQL = """
INSERT INTO ai_draftfeedback (run_id, verdict, reason, created_at)
SELECT r.id, (ARRAY['sent_unchanged','edited','discarded','approved'])[1 + r.id %% 4],
    CASE WHEN r.id %% 4 = 2 THEN (ARRAY['wrong','unhelpful','tone','made_things_up'])[1 + (r.id / 4) %% 4] ELSE '' END,
    r.created_at + interval '10 minutes'
FROM ai_agentrun r WHERE r.workspace_id = %(ws)s AND r.id %% 4 <> 3 AND r.decision IN ('draft', 'autosend')
"""

ACTIONS_SQL = """
INSERT INTO ai_actionrequest (workspace_id, ticket_id, run_id, tool, args, amount, reply_draft, status, rule,
    requested_by, decided_at, note, result, created_at)
SELECT r.workspace_id, r.ticket_id, r.id, 'issue_refund', '{}'::jsonb, 150.00, '',
    (ARRAY['executed','rejected','approved','pending'])[1 + r.id %% 4], '{}'::jsonb, 'ai:bench',
    CASE WHEN r.id %% 4 = 3 THEN NULL ELSE r.created_at + (r.id %% 7200) * interval '1 second' END,
    '', '{}'::jsonb, r.created_at
FROM ai_agentrun r WHERE r.workspace_id = %(ws)s AND r.decision = 'awaiting_approval' AND r.id %% 5 = 0
"""

REOPENS_SQL = """
INSERT INTO audit_auditevent (workspace_id, ticket_id, seq, actor_kind, actor, kind, data, prev_hash, hash, created_at)
SELECT o.workspace_id, o.ticket_id, 1000000000 + o.id, 'customer', 'bench', 'ticket.reopened', '{}'::jsonb,
    repeat('0', 64), md5(o.id::text) || md5('r' || o.id::text), o.resolved_at + (o.id %% 10) * interval '1 day'
FROM billing_outcome o WHERE o.workspace_id = %(ws)s AND o.status IN ('confirmed', 'billed') AND o.id %% 20 = 0
"""


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from ai.models import CalibrationMap
    from ai.reports.queries import ReportFilter, report
    from ai.reports.rollup import report_rollup_catch_up
    from audit.services import Actor
    from billing.services import plan_for
    from helpdesk.models import Role
    from helpdesk.services import membership_add, ticket_create, workspace_create

    call_command("migrate", verbosity=0)
    workspace = workspace_create(name="Bench", slug="bench", actor=Actor.system("bench"))
    plan_for(workspace)
    from django.contrib.auth import get_user_model

    for i in range(5):
        user = get_user_model().objects.create_user(username=f"u{i}@bench.test", email=f"u{i}@bench.test")
        membership_add(workspace=workspace, user=user, role=Role.AGENT, actor=Actor.system("bench"))
    first = ticket_create(workspace=workspace, channel="chat", customer_email="b@bench.test", subject="s", body="b")
    CalibrationMap.objects.create(
        workspace=workspace,
        points=[[0, 0], [1, 1]],
        reliability=[
            {"lo": i / 10, "hi": (i + 1) / 10, "mean_confidence": i / 10 + 0.05, "accuracy": i / 10, "n": 50}
            for i in range(10)
        ],
        ece=0.04,
        samples=500,
    )
    now = datetime.now(UTC)
    params: dict[str, Any] = {
        "ws": workspace.pk,
        "customer": first.customer_id,
        "n": N,
        "now": now,
        "days": DAYS,
        "questions": QUESTIONS,
        "nq": len(QUESTIONS),
    }
    counts = {}
    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # The audit trigger refuses edits, not inserts; the bench's reopen rows need no chain.
        for name, sql in (
            ("tickets", TICKETS_SQL),
            ("runs", RUNS_SQL),
            ("outcomes", OUTCOMES_SQL),
            ("feedback", FEEDBACK_SQL),
            ("actions", ACTIONS_SQL),
            ("reopens", REOPENS_SQL),
        ):
            cursor.execute(sql, params)
            counts[name] = cursor.rowcount
            say(f"  {name}: {cursor.rowcount:,}")
        cursor.execute("VACUUM ANALYZE")
    insert_s = time.perf_counter() - t0
    say(f"created {N:,} tickets and their rows in SQL: {insert_s:.1f} s")

    # The first catch-up backfills the year; the schedule then keeps it current every 10 minutes.
    # (Run within GRACE after midnight UTC, yesterday stays live too: the slow case.)
    t0 = time.perf_counter()
    caught = report_rollup_catch_up(workspace_id=workspace.pk)
    rollup_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ai_reportday")
        cursor.execute("ANALYZE ai_reportdaycount")
        cursor.execute("SELECT count(*) FROM ai_reportday WHERE workspace_id = %s", [workspace.pk])
        rollup_rows = cursor.fetchone()[0]
    say(f"rollup of {caught.rolled_from} to {caught.rolled_until}: {rollup_rows:,} day rows in {rollup_s:.1f} s")

    today = now.date()
    f = ReportFilter(
        workspace_id=workspace.pk,
        start=datetime.combine(today - timedelta(days=29), datetime.min.time(), tzinfo=UTC),
        end=datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=UTC),
    )
    t0 = time.perf_counter()
    data = report(f, now=now)  # warm-up: embeds the distinct unanswered questions once (cached)
    warm_ms = (time.perf_counter() - t0) * 1000
    say(
        f"warm-up (embeds {len(QUESTIONS)} distinct questions): {warm_ms:.0f} ms; "
        f"{data['volume']['tickets']:,} tickets, {data['ai']['runs']:,} runs in the period"
    )

    def timed(flt: ReportFilter) -> list[float]:
        samples = []
        for _ in range(RUNS):
            t = time.perf_counter()
            report(flt, now=now)
            samples.append((time.perf_counter() - t) * 1000)
        return sorted(samples)

    def p95(samples: list[float]) -> float:
        return samples[max(0, math.ceil(0.95 * len(samples)) - 1)]  # nearest rank

    t = time.perf_counter()
    report(f, now=now, use_rollup=False)
    live_ms = (time.perf_counter() - t) * 1000
    say(f"for comparison, one report from the live tables only: {live_ms:.0f} ms")
    full = timed(f)
    say(f"full report, 30 days: p50 {full[len(full) // 2]:.0f} ms, p95 {p95(full):.0f} ms")
    chat = timed(ReportFilter(**{**f.__dict__, "channel": "chat", "ticket_type": "refund"}))
    say(f"filtered (chat, refund): p50 {chat[len(chat) // 2]:.0f} ms, p95 {p95(chat):.0f} ms")
    print(
        json.dumps(
            {
                "tickets": N,
                **{f"{k}_rows": v for k, v in counts.items()},
                "period_tickets": data["volume"]["tickets"],
                "insert_s": round(insert_s, 1),
                "rollup_s": round(rollup_s, 1),
                "rollup_rows": rollup_rows,
                "runs": RUNS,
                "warmup_ms": round(warm_ms),
                "live_only_ms": round(live_ms),
                "filtered_p95_ms": round(p95(chat)),
                "reports_p50_ms": round(full[len(full) // 2]),
                "reports_p95_ms": round(p95(full)),
            }
        )
    )


if __name__ == "__main__":
    main()

"""The reports rollup: the report is the same with or without it, and stays exact when past
days change after a refresh (database triggers mark them dirty); the refresh service is
idempotent, limited to its days and to its workspace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ai.models import DraftFeedback, ReportDay, ReportDayCount, ReportDirtyDay, ReportRollupState
from ai.reports.queries import handoff_category, report
from ai.reports.rollup import (
    GRACE,
    handoff_case_sql,
    report_rollup_catch_up,
    report_rollup_refresh,
    split_period,
    utc_day,
)
from ai.schedules import ROLLUP_SCHEDULES, setup_rollup_schedules
from ai.tasks_reports import reports_rollup_task
from ai.tests.reports_support import EXPECTED, _outcome, _run, _ticket
from ai.tests.test_reports import period
from audit.services import Actor, audit_record
from billing.models import Outcome
from helpdesk.models import Ticket

pytest_plugins = ["ai.tests.reports_support"]

FILTERS = [{}, {"channel": "chat"}, {"channel": "chat", "ticket_type": "refund"}, {"ticket_type": "order_status"}]


def today() -> datetime:
    return datetime.combine(timezone.now().astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC)


def catch_up(workspace, **kwargs):
    # As if the grace after midnight had passed: every day before today is closed.
    return report_rollup_catch_up(workspace_id=workspace.pk, now=timezone.now() + GRACE, **kwargs)


def assert_rollup_matches_live(workspace, now):
    for kwargs in FILTERS:
        f = period(workspace, minutes_per_ticket=10, **kwargs)
        assert report(f, now=now) == report(f, now=now, use_rollup=False), kwargs


def rows(workspace):
    day = sorted(ReportDay.objects.filter(workspace=workspace).values_list(named=True).order_by())
    counts = sorted(ReportDayCount.objects.filter(workspace=workspace).values_list(named=True).order_by())
    strip = lambda rs: [r[1:] for r in rs]  # noqa: E731  (ids change on every refresh)
    return strip(day), strip(counts)


def test_it_gives_the_same_report_before_and_after_a_refresh(workspace, report_data):
    now = timezone.now()
    before = [report(period(workspace, **k), now=now) for k in FILTERS]
    result = catch_up(workspace)
    assert result.rolled_until == utc_day(timezone.now())
    split = split_period(workspace_id=workspace.pk, start=period(workspace).start, end=period(workspace).end)
    # Every day but today comes from the rollup now.
    assert len(split.rolled) == 29 and split.live == ((today(), period(workspace).end),)
    assert ReportDay.objects.filter(workspace=workspace).exists()
    for k, expected in zip(FILTERS, before, strict=True):
        assert report(period(workspace, **k), now=now) == expected, k
    data = report(period(workspace), now=now)
    assert data["volume"]["tickets"] == EXPECTED["tickets"] and data["ai"]["runs"] == EXPECTED["runs"]
    assert data["ai"]["tickets_with_runs"] == EXPECTED["tickets_with_runs"]
    assert (data["resolution"]["outcomes"], data["resolution"]["durable"]) == (3, 1)
    assert data["resolution"]["cost"] == EXPECTED["cost"]
    assert [(h["reason"], h["tickets"]) for h in data["handoffs"]] == EXPECTED["handoffs"]


def test_it_stays_exact_when_tickets_arrive_and_past_days_change_after_a_refresh(
    workspace, report_data, other_workspace
):
    t, runs = report_data["tickets"], report_data["runs"]
    catch_up(workspace)
    assert not ReportDirtyDay.objects.filter(workspace_id=workspace.pk).exists()

    # New today: read live.
    fresh = _ticket(workspace, 30, channel="chat", ticket_type="refund", hours_ago=0, ai_decision="escalate")
    _run(fresh, "escalate", "customer asked for a human")
    # A ticket imported with a past date, and its run.
    late = _ticket(
        workspace,
        31,
        channel="email",
        ticket_type="order_status",
        hours_ago=5 * 24,
        ai_decision="draft",
        ai_reason="copilot mode: a human sends every reply",
    )
    _run(late, "draft", "copilot mode")
    # A first run today on an old ticket (its creation day gains a ticket with runs), and its
    # new reason moves the ticket to another handoff category. T10 (30 hours old) is on a past
    # day at any hour of the run; T11 (20 hours old) is today after 20:00 UTC, never marked.
    _run(t[10], "escalate", "provider failure: 500")
    Ticket.objects.filter(pk=t[10].pk).update(ai_reason="provider failure: 500")
    # A human retypes an old ticket: its runs, verdicts and outcome move with it.
    Ticket.objects.filter(pk=t[5].pk).update(ticket_type="refund", channel="chat")
    # A credit, and a charged outcome reopened within 7 days of its resolution.
    Outcome.objects.filter(ticket=t[1]).update(status="credited")
    Outcome.objects.filter(ticket=t[13]).update(status="billed")
    with transaction.atomic():
        audit_record(workspace=workspace, ticket=t[13], actor=Actor.system("test"), kind="ticket.reopened", data={})
    # A verdict moved to an earlier day, and a new outcome resolved on a past day.
    DraftFeedback.objects.filter(run=runs[1]).update(created_at=timezone.now() - timedelta(days=2))
    _outcome(t[8], "confirmed", days_ago=6, price="0.75")

    runs[5].refresh_from_db()
    marked = set(ReportDirtyDay.objects.filter(workspace_id=workspace.pk).values_list("day", flat=True))
    assert utc_day(late.created_at) in marked and utc_day(t[10].created_at) in marked
    assert utc_day(t[5].created_at) in marked and utc_day(runs[5].created_at) in marked
    assert utc_day(timezone.now() - timedelta(days=6)) in marked
    assert utc_day(timezone.now()) not in marked  # today is always read live
    assert not ReportDirtyDay.objects.filter(workspace_id=other_workspace.pk).exists()

    now = timezone.now()
    assert_rollup_matches_live(workspace, now)
    data = report(period(workspace), now=now)
    assert data["volume"]["tickets"] == EXPECTED["tickets"] + 2
    assert data["ai"]["tickets_with_runs"] == EXPECTED["tickets_with_runs"] + 3  # fresh, late, T10
    assert data["resolution"]["outcomes"] == 4 and data["resolution"]["cost"] == Decimal("1.75")

    # The next catch-up recomputes the dirty days and clears their marks; still exact.
    marks = ReportDirtyDay.objects.filter(workspace_id=workspace.pk).count()
    result = catch_up(workspace)
    assert result.marks_cleared == marks >= len(marked)
    assert not ReportDirtyDay.objects.filter(workspace_id=workspace.pk).exists()
    assert_rollup_matches_live(workspace, now)
    assert report(period(workspace), now=now) == data


def test_it_keeps_a_day_dirty_when_it_changes_during_the_refresh(workspace, report_data, monkeypatch):
    catch_up(workspace)
    t = report_data["tickets"]
    Ticket.objects.filter(pk=t[4].pk).update(ai_reason="customer said it did not solve it")
    day = utc_day(t[4].created_at)
    assert ReportDirtyDay.objects.filter(workspace_id=workspace.pk, day=day).exists()

    from ai.reports import rollup

    real = rollup.report_rollup_refresh

    def refresh_while_a_change_commits(**kwargs):
        count = real(**kwargs)
        # A change committed after the refresh read the day: its mark must survive.
        Ticket.objects.filter(pk=t[4].pk).update(ai_reason="human-needed type: legal")
        return count

    monkeypatch.setattr(rollup, "report_rollup_refresh", refresh_while_a_change_commits)
    catch_up(workspace)
    assert ReportDirtyDay.objects.filter(workspace_id=workspace.pk, day=day).exists()
    assert_rollup_matches_live(workspace, timezone.now())


def test_it_marks_no_day_for_changes_of_today(workspace):
    ticket = _ticket(workspace, 1, channel="chat", ticket_type="refund", hours_ago=0)
    _run(ticket, "draft", "low confidence")
    Ticket.objects.filter(pk=ticket.pk).update(ai_decision="draft", ai_reason="low confidence")
    assert not ReportDirtyDay.objects.exists()


def test_its_refresh_is_idempotent(workspace, report_data):
    first_day, last_day = utc_day(timezone.now() - timedelta(days=40)), utc_day(timezone.now())
    written = report_rollup_refresh(workspace_id=workspace.pk, first_day=first_day, last_day=last_day)
    once = rows(workspace)
    assert written == len(once[0]) > 0
    assert report_rollup_refresh(workspace_id=workspace.pk, first_day=first_day, last_day=last_day) == written
    assert rows(workspace) == once
    # Hand check: T3, T9, T10 are chat refunds (on different days); T3 has 2 runs, T9 one.
    chat_refunds = ReportDay.objects.filter(workspace=workspace, channel="chat", ticket_type="refund")
    assert sum(r.tickets for r in chat_refunds) == 3 and sum(r.runs for r in chat_refunds) == 3
    assert sum(r.tickets_with_runs for r in chat_refunds) == 2


def test_its_refresh_touches_only_its_days_and_workspace(workspace, other_workspace, report_data):
    t = report_data["tickets"]
    _ticket(other_workspace, 1, channel="web", ticket_type="other", hours_ago=100)  # same day as T3
    day3, day1 = utc_day(t[3].created_at), utc_day(t[1].created_at)
    assert day3 != day1
    stale = {"channel": "api", "ticket_type": "legal", "tickets": 99}
    ReportDay.objects.create(workspace=workspace, day=day1, **stale)
    ReportDay.objects.create(workspace=workspace, day=day3, **stale)
    ReportDay.objects.create(workspace=other_workspace, day=day3, **stale)

    report_rollup_refresh(workspace_id=workspace.pk, first_day=day3, last_day=day3)
    assert ReportDay.objects.filter(workspace=workspace, day=day1, tickets=99).exists()  # outside the range
    assert not ReportDay.objects.filter(workspace=workspace, day=day3, tickets=99).exists()  # recomputed
    assert set(ReportDay.objects.filter(workspace=workspace).values_list("day", flat=True)) == {day1, day3}
    assert ReportDay.objects.get(workspace=workspace, day=day3, channel="chat", ticket_type="refund").tickets == 1
    # The other workspace: its row untouched, nothing written for its ticket.
    assert ReportDay.objects.filter(workspace=other_workspace, day=day3, tickets=99).exists()
    assert ReportDay.objects.filter(workspace=other_workspace).count() == 1


def test_its_catch_up_backfills_then_rolls_up_only_closed_or_changed_days(workspace, report_data):
    oldest = utc_day(report_data["tickets"][12].created_at)  # T12, 40 days old
    midnight = today()
    result = report_rollup_catch_up(workspace_id=workspace.pk, now=midnight + timedelta(minutes=30))
    # Half an hour after midnight, yesterday is not closed yet (a late write may still commit).
    assert (result.rolled_from, result.rolled_until) == (oldest, utc_day(midnight) - timedelta(days=1))
    assert result.refreshed == [(oldest, utc_day(midnight) - timedelta(days=2))]
    again = report_rollup_catch_up(workspace_id=workspace.pk, now=midnight + GRACE)
    assert again.refreshed == [(utc_day(midnight) - timedelta(days=1),) * 2]
    assert report_rollup_catch_up(workspace_id=workspace.pk, now=midnight + GRACE).refreshed == []
    recheck = report_rollup_catch_up(workspace_id=workspace.pk, now=midnight + GRACE, recheck_days=8)
    assert recheck.refreshed == [(utc_day(midnight) - timedelta(days=8), utc_day(midnight) - timedelta(days=1))]
    state = ReportRollupState.objects.get(workspace=workspace)
    assert (state.rolled_from, state.rolled_until) == (oldest, utc_day(midnight))


def test_its_queries_do_not_grow_with_the_tickets_once_rolled_up(workspace, report_data):
    f = period(workspace)
    report(f, now=timezone.now())  # warm the embedding cache
    catch_up(workspace)
    with CaptureQueriesContext(connection) as before:
        report(f, now=timezone.now())
    for n in range(20, 30):
        ticket = _ticket(workspace, n, channel="email", ticket_type="other", hours_ago=24 * (n - 18))
        _run(ticket, "escalate", "provider failure: 500")
    catch_up(workspace)
    with CaptureQueriesContext(connection) as after:
        data = report(f, now=timezone.now())
    assert data["volume"]["tickets"] == 23
    # 19 statements and the savepoint around them.
    assert len(after.captured_queries) == len(before.captured_queries) <= 21


@pytest.mark.parametrize(
    "reason",
    [
        "confidence 0.60 below threshold 0.85",
        "Low confidence on the answer",
        "human-needed type: legal",
        "no matching article",
        "Rejected issue_refund: over policy",
        "approval rejected by a manager",
        "provider failure: timeout",
        "time budget exceeded after 30 s",
        "Agent error: KeyError",
        "customer asked for a human",
        "customer said it did not solve it",
        "agent paused: kill switch",
        "copilot mode: a human sends every reply",
        "approval required: refunds over 100.00",
        "no matching article, twice",
        "100%_sure\nnot",
        "confidence 47.5% is below the threshold of 85%",
        "policy exception: gift cards are never refundable",
        "not resolved yet: needs send_password_reset, which this workspace does not allow",
        "the reply states details no source has: 75",
    ],
)
def test_its_sql_handoff_categories_match_the_python_rule(db, reason):
    sql, params = handoff_case_sql("r.reason")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql} FROM (SELECT %s::text AS reason) r", [*params, reason])  # noqa: S608
        assert cursor.fetchone()[0] == handoff_category(reason)


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("confidence 47.5% is below the threshold of 85%", "low_confidence"),
        ("policy exception: gift cards are never refundable", "policy_exception"),
        ("not resolved yet: ask the customer for the order (refund)", "ask_open"),
        ("the reply states details no source has: 75", "unsupported_detail"),
    ],
)
def test_it_names_the_reasons_the_agent_writes(reason, category):
    assert handoff_category(reason) == category


def test_its_schedule_runs_every_ten_minutes_and_catches_up_every_workspace(workspace, other_workspace, report_data):
    from django_q.models import Schedule

    assert setup_rollup_schedules() == len(ROLLUP_SCHEDULES)
    assert setup_rollup_schedules() == len(ROLLUP_SCHEDULES)  # idempotent
    every = Schedule.objects.get(name="ai.reports_rollup")
    assert (every.func, every.schedule_type, every.minutes) == ("ai.tasks_reports.reports_rollup_task", "I", 10)
    assert Schedule.objects.get(name="ai.reports_rollup_recheck").kwargs == "{'recheck_days': 8}"
    assert reports_rollup_task() == {"workspaces": 2, "failed": 0}
    assert ReportRollupState.objects.filter(workspace__in=[workspace, other_workspace]).count() == 2

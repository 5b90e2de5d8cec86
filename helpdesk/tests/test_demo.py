from __future__ import annotations

import datetime as dt
import re
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_verify_workspace
from helpdesk.demo import DEMO_PASSWORD
from helpdesk.demo.loader import articles_data, date_shift, orders_data, tickets_data
from helpdesk.models import Article, Order, Ticket, TicketStatus, TicketType, Workspace
from helpdesk.shop import orders_validate


def test_it_ships_demo_files_in_the_design_formats():
    tickets = tickets_data()
    assert len(tickets) >= 35
    assert {t["expected_type"] for t in tickets} == set(TicketType.values)
    assert {t["channel"] for t in tickets} == {"email", "chat", "web", "api"}
    for row in tickets:
        assert set(row) >= {"external_id", "channel", "subject", "body", "customer", "created_at"}
        assert row["customer"]["email"] and row["customer"]["name"]
    assert len({t["external_id"] for t in tickets}) == len(tickets)

    orders = orders_data()
    cleaned = orders_validate(orders)
    assert len(cleaned) >= 25
    emails = {o["number"]: o["customer_email"] for o in orders["orders"]}
    # Every order number a customer mentions is theirs.
    for row in tickets:
        for number in re.findall(r"OO-\d+", row["subject"] + " " + row["body"]):
            assert emails[number] == row["customer"]["email"], (row["external_id"], number)

    articles = articles_data()
    assert len(articles) >= 12
    for article in articles:
        assert article["title"] and article["url"].startswith("https://")
        assert 150 <= len(article["body"].split()) <= 450


def test_it_shifts_demo_dates_to_stay_recent():
    now = timezone.now()
    shift = date_shift("2025-06-16T12:00:00Z", now=now)
    assert dt.datetime(2025, 6, 16, 12, tzinfo=dt.UTC) + shift <= now
    delivered = [o for o in orders_data()["orders"] if o["status"] == "delivered"]
    ages = {(now - dt.datetime.fromisoformat(o["delivered_at"])).days for o in delivered}
    assert min(ages) < 30 < max(ages)  # some inside the return window, some outside


def test_it_seeds_the_demo_workspace_once(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "Created the 'demo' workspace" in out.getvalue()
    workspace = Workspace.objects.get(slug="demo")
    assert Article.objects.filter(workspace=workspace, status="published").count() >= 10
    assert Order.objects.filter(workspace=workspace).count() >= 20
    assert Ticket.objects.filter(workspace=workspace).count() >= 30
    assert Ticket.objects.filter(workspace=workspace, status=TicketStatus.RESOLVED).exists()
    assert Ticket.objects.filter(workspace=workspace).exclude(created_at__gte=timezone.now() - dt.timedelta(days=1))
    users = get_user_model().objects.filter(memberships__workspace=workspace)
    assert users.filter(is_staff=True).count() == 3
    admin = users.get(email="admin@demo.oasis")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    assert set(users.values_list("memberships__role", flat=True)) == {"agent", "manager", "finance", "admin"}
    assert audit_verify_workspace(workspace_id=workspace.pk).ok

    counts = (Ticket.objects.count(), Order.objects.count(), Article.objects.count(), AuditEvent.objects.count())
    again = StringIO()
    call_command("seed_demo", stdout=again)
    assert "already exists" in again.getvalue()
    assert (
        Ticket.objects.count(),
        Order.objects.count(),
        Article.objects.count(),
        AuditEvent.objects.count(),
    ) == counts


def test_it_seeds_a_demo_that_shows_every_feature(db, mailoutbox):
    from ai.models import ActionRequest, AISettings, CalibrationMap, ConfidenceRule, DraftFeedback, ToolPermission
    from ai.tasks_controls import alerts_check
    from billing.models import Invoice

    call_command("seed_demo", stdout=StringIO())
    workspace = Workspace.objects.get(slug="demo")
    # The AI answers on its own, at realistic thresholds, with every built-in tool.
    assert workspace.mode == "agent" and AISettings.objects.get(workspace=workspace).default_threshold == 0.85
    assert {
        (r.channel, r.ticket_type, r.autosend_threshold) for r in ConfidenceRule.objects.filter(workspace=workspace)
    } == {
        ("chat", "", 0.80),
        ("", "refund", 0.90),
    }
    assert ToolPermission.objects.filter(workspace=workspace).count() >= 8
    assert not ToolPermission.objects.filter(workspace=workspace, enabled=False).exists()
    # 90 days of history: resolved tickets, feedback, decided approvals, a calibration map.
    history = Ticket.objects.filter(workspace=workspace, status=TicketStatus.RESOLVED)
    assert history.count() > 150
    assert history.filter(created_at__lte=timezone.now() - dt.timedelta(days=88)).exists()
    assert DraftFeedback.objects.filter(run__workspace=workspace, verdict="discarded").exists()
    decided = set(ActionRequest.objects.filter(workspace=workspace).values_list("status", flat=True))
    assert decided == {"executed", "rejected"}
    assert CalibrationMap.objects.filter(workspace=workspace, samples__gte=50).exists()
    # Every finished month invoiced, gapless, last month's with a credit for a reopened ticket.
    invoices = list(Invoice.objects.filter(workspace=workspace).order_by("period"))
    assert [i.number for i in invoices] == list(range(1, len(invoices) + 1)) and len(invoices) >= 2
    last_month = (timezone.now().replace(day=1) - dt.timedelta(days=1)).date().replace(day=1)
    assert invoices[-1].period == last_month and invoices[-1].credits < 0 and invoices[-1].line_count > 10
    # Seeded history alerts nobody.
    assert alerts_check(workspace=workspace) == []
    assert not mailoutbox
    # One audit event for the history, not one per row.
    assert AuditEvent.objects.filter(workspace=workspace, kind="demo.history_seeded").count() == 1
    assert AuditEvent.objects.filter(workspace=workspace).count() < 600

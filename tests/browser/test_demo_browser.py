"""The demo as a buyer first sees it, in real Chromium: every headline feature without a
setting changed, each main page looked at (screenshots at 1280 and 390 px, axe WCAG AA)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ai.models import ActionRequest, ActionStatus, AgentRun, CalibrationMap, DraftFeedback, ToolPermission
from billing.models import Invoice, OutcomeStatus
from helpdesk.demo import DEMO_PASSWORD
from helpdesk.demo.loader import seed_demo
from helpdesk.models import Ticket, Workspace
from tests.browser.support import SLOW, log_in, look_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(mailoutbox):
    # The seed commits, then the Agent answers the live inbox in-process (OASIS_Q_SYNC).
    assert seed_demo().created
    return Workspace.objects.get(slug="demo")


def sign_in(page: Page, base: str, email: str) -> None:
    log_in(page, base, email, DEMO_PASSWORD)


def test_it_shows_every_headline_feature_without_a_setting_changed(page: Page, live_server, demo, mailoutbox):
    base = live_server.url
    # Agent mode, every built-in tool, 90 days of history, an invoice for last month.
    assert demo.mode == "agent"
    assert not ToolPermission.objects.filter(workspace=demo, enabled=False).exists()
    oldest = Ticket.objects.filter(workspace=demo).order_by("created_at").first()
    assert oldest is not None and oldest.created_at <= timezone.now() - timedelta(days=85)
    assert DraftFeedback.objects.filter(run__workspace=demo).count() > 30
    assert CalibrationMap.objects.filter(workspace=demo).exists()
    last_month = (timezone.now().replace(day=1) - timedelta(days=1)).replace(day=1).date()
    invoice = Invoice.objects.get(workspace=demo, period=last_month)
    assert invoice.line_count > 0 and invoice.total > 0 and invoice.credits < 0  # a reopen credit
    assert ActionRequest.objects.filter(workspace=demo, status=ActionStatus.REJECTED).exists()
    autosent = AgentRun.objects.filter(
        workspace=demo, decision="autosend", created_at__gte=timezone.now() - timedelta(hours=1)
    )
    assert autosent.filter(ticket__channel="chat").exists() and autosent.filter(ticket__channel="email").exists()
    # Seeded history e-mails nobody (no alert for escalations that happened "in the past").
    from ai.tasks_controls import alerts_check

    assert alerts_check(workspace=demo) == []
    assert not [m for m in mailoutbox if "[Support Oasis]" in m.subject]

    # The manager's first look: autosent answers in the inbox, a refund waiting for them.
    sign_in(page, base, "manager@demo.oasis")
    expect(page.locator(".tickets .badge-ai-autosend").first).to_be_visible()
    expect(page.get_by_test_id("approvals-chip")).to_contain_text("2 awaiting approval")
    look_at(page, "inbox")

    page.goto(f"{base}/approvals/")
    first = page.locator("article.approval").first
    expect(first.get_by_test_id("action-words")).to_have_text(
        "Refund 149.00 USD on order OO-10440 to the original payment method"
    )
    facts = first.get_by_test_id("order-facts")
    expect(facts).to_contain_text("Trailhead Rain Jacket")
    expect(facts).to_contain_text("Delivered")
    expect(facts).to_contain_text(re.compile(r"open until \d{4}-\d\d-\d\d"))
    expect(first.get_by_test_id("previous-refunds")).to_have_text("none")
    expect(first).to_contain_text("The customer wrote")
    approve, reject = first.get_by_role("button", name="Approve and send"), first.get_by_role("button", name="Reject")
    colours = [b.evaluate("b => getComputedStyle(b).backgroundColor") for b in (approve, reject)]
    assert colours[0] != colours[1], colours  # primary and destructive do not look alike
    look_at(page, "approvals")

    autosent_ticket = autosent.filter(ticket__channel="email").first().ticket
    page.goto(f"{base}/inbox/tickets/{autosent_ticket.pk}/")
    expect(page.locator("#copilot .cp-head")).to_be_visible(timeout=SLOW)
    expect(page.locator("#thread .msg-reply")).to_contain_text("Sources:")
    assert not re.search(r"\[\d+\]", page.locator("#thread .msg-reply").first.inner_text())
    page.wait_for_timeout(500)
    look_at(page, "ticket")

    page.goto(f"{base}/reports/")
    expect(page.locator("main")).to_contain_text(re.compile(r"[1-9]\d* (tickets|runs)", re.I))
    look_at(page, "reports")

    page.goto(f"{base}/billing/calculator/")
    rate = page.locator("#id_resolution_rate").input_value()
    assert float(rate) > 0, rate
    look_at(page, "calculator")

    page.goto(f"{base}/trust/")
    expect(page.locator("#q-approval")).to_contain_text("Issue refund over 100.00 needs a manager's approval.")
    look_at(page, "trust")

    page.goto(f"{base}/admin/")
    sections = page.locator("#content-main caption").all_inner_texts()
    assert [s.strip() for s in sections][:2] == ["SUPPORT", "MANAGER: APPROVALS, AI RULES AND CONTROLS"], sections
    assert "Embedding spaces" not in page.locator("#content-main").inner_text()
    look_at(page, "admin-index", axe=False)

    # Finance: last month's invoice, ready to download.
    page.context.clear_cookies()
    sign_in(page, base, "finance@demo.oasis")
    page.goto(f"{base}/admin/billing/invoice/")
    expect(page.locator("#result_list")).to_contain_text(f"{last_month:%Y-%m}")
    look_at(page, "invoices", axe=False)

    # The shop page: a signed-in customer's chat, answered by the AI on its own.
    page.context.clear_cookies()
    page.goto(f"{base}/chat/demo/demo/?customer=hannah.kim@example.com&name=Hannah%20Kim")
    page.locator(".launcher").click()
    expect(page.locator(".msg.theirs.ai").first).to_be_visible(timeout=SLOW)
    look_at(page, "widget", axe=False)
    # The AI resolved it on its own: an outcome waits for its window, to be billed if it holds.
    chat = Ticket.objects.get(
        workspace=demo, customer__email="hannah.kim@example.com", subject="tracking number doesnt work"
    )
    assert chat.outcome.status == OutcomeStatus.PENDING

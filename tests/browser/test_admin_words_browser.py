"""The back office in the product's words, in real Chromium: a home grouped for support,
managers and finance; thresholds typed in percent with errors in words; managers edit their
workspace's thresholds and approval rules and nobody else's; finance confirms an invoice; the
trust page reads as sentences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from ai.models import ApprovalRule, ConfidenceRule
from audit.services import Actor
from billing.models import Invoice, Outcome
from billing.services import outcomes_finalize_due
from billing.tests.conftest import after_window, ai_reply, new_ticket
from conftest import PASSWORD, make_user
from helpdesk.models import Role
from helpdesk.services import membership_add
from tests.browser.support import look_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def admin_login(page: Page, base: str, user) -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


@pytest.fixture
def staff_manager(manager):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    return manager


def test_a_manager_sets_a_threshold_in_percent_for_their_workspace_only(
    page: Page, live_server, workspace, other_workspace, staff_manager
):
    ConfidenceRule.objects.create(workspace=other_workspace, channel="email", autosend_threshold=0.7)
    admin_login(page, live_server.url, staff_manager)
    sections = [s.strip() for s in page.locator("#content-main caption").all_inner_texts()]
    assert sections == ["SUPPORT", "MANAGER: APPROVALS, AI RULES AND CONTROLS"], sections
    home = page.locator("#content-main").inner_text()
    assert "Autosend thresholds" in home and "Approvals" in home
    for internal in ("Embedding spaces", "Calibration maps", "Passages", "Django Q"):
        assert internal not in home
    look_at(page, "admin-home-manager", axe=False)

    page.goto(f"{live_server.url}/admin/ai/confidencerule/add/")
    page.select_option("#id_workspace", str(workspace.pk))
    page.select_option("#id_channel", "chat")
    page.fill("#id_autosend_threshold", "0.85")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("Enter a percent: 85 for 85 %, not 0.85.")
    page.fill("#id_autosend_threshold", "850")
    page.click("input[name=_save]")
    expect(page.locator(".errorlist")).to_contain_text("Enter a percent from 0 to 100")
    page.fill("#id_autosend_threshold", "85")
    page.click("input[name=_save]")
    expect(page.locator("#result_list")).to_contain_text("85%")
    rule = ConfidenceRule.objects.get(workspace=workspace)
    assert (rule.channel, rule.autosend_threshold) == ("chat", 0.85)
    # Only their own workspace's rules: the other workspace's is not listed, and its page is not there.
    assert ConfidenceRule.objects.filter(workspace=other_workspace).count() == 1
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    other = ConfidenceRule.objects.get(workspace=other_workspace)
    page.goto(f"{live_server.url}/admin/ai/confidencerule/{other.pk}/change/")
    expect(page.locator("#content")).not_to_contain_text("Autosend threshold (%)")

    page.goto(f"{live_server.url}/admin/ai/approvalrule/add/")
    page.select_option("#id_workspace", str(workspace.pk))
    page.select_option("#id_ticket_type", "legal")
    page.click("input[name=_save]")
    expect(page.locator("#result_list")).to_contain_text("every AI action and reply on legal tickets")
    assert ApprovalRule.objects.filter(workspace=workspace, ticket_type="legal").exists()


def test_finance_confirms_an_invoice_before_it_is_issued(page: Page, live_server, workspace):
    finance = make_user("fiona.finance@acme.test")
    finance.is_staff = True
    finance.save(update_fields=["is_staff"])
    membership_add(workspace=workspace, user=finance, role=Role.FINANCE, actor=Actor.system("test"))
    ai_reply(new_ticket(workspace, 1))
    outcomes_finalize_due(now=after_window())
    day = timezone.now().replace(day=1) - timedelta(days=1)
    Outcome.objects.update(resolved_at=day, ai_replied_at=day - timedelta(days=3))
    period = f"{day:%Y-%m}"

    admin_login(page, live_server.url, finance)
    sections = [s.strip() for s in page.locator("#content-main caption").all_inner_texts()]
    assert sections == ["FINANCE"], sections
    page.goto(f"{live_server.url}/admin/billing/invoice/")
    page.select_option("select[name=workspace]", str(workspace.pk))
    page.fill("form[action$='generate/'] input[name=period]", period)
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_test_id("invoice-preview")).to_contain_text("1 outcome to bill: 0.50 USD")
    assert not Invoice.objects.exists()
    look_at(page, "invoice-confirm", axe=False)
    page.get_by_role("button", name=f"Issue the invoice for {period}").click()
    expect(page.locator(".messagelist")).to_contain_text(f"for {period}: 0.50 USD")
    assert Invoice.objects.get().line_count == 1


def test_the_trust_page_reads_as_sentences_and_marks_rules_that_cannot_apply(page: Page, live_server, workspace, agent):
    ApprovalRule.objects.create(workspace=workspace, tool="create_replacement")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", agent.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{live_server.url}/trust/")
    rules = page.locator("#q-approval")
    expect(rules).to_contain_text("Issue refund over 100.00 needs a manager's approval.")
    # A new workspace has the refund rule but not the refund tool: neither rule can hold anything yet.
    idle = rules.get_by_test_id("idle-rule")
    expect(idle).to_have_text(
        [
            "It never applies: the tool issue_refund is not enabled.",
            "It never applies: the tool create_replacement is not enabled.",
        ]
    )
    tools = page.locator("#q-allow-list")
    expect(tools).to_contain_text("lookup_order: Look up one of the customer's own orders")
    assert ": None" not in page.locator("main").inner_text() and "amount_over:" not in page.locator("main").inner_text()
    look_at(page, "trust-rules")

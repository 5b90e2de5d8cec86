"""The Copilot sidebar in real Chromium: it fills in after the page, its buttons, live updates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from ai.models import ActionRequest, DraftFeedback, ToolPermission
from ai.tests.agent_support import helpcenter, new_ticket  # noqa: F401 (fixture)
from audit.services import Actor
from conftest import PASSWORD
from helpdesk.models import Message, MessageKind
from helpdesk.services import ticket_add_customer_message
from helpdesk.shop import orders_load
from tests.browser.support import delivery_question

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
SLOW = 20_000  # ms: the AI pipeline runs inside the live server on a shared 2-core machine


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}}


@pytest.fixture
def question(workspace, helpcenter):  # noqa: F811
    return delivery_question(workspace)


@pytest.fixture
def refund_ticket(workspace, helpcenter):  # noqa: F811
    delivered = datetime.now(UTC) - timedelta(days=3)
    orders_load(
        workspace=workspace,
        data={
            "orders": [
                {
                    "number": "A2002",
                    "customer_email": "carla@customer.test",
                    "status": "delivered",
                    "placed_at": (delivered - timedelta(days=4)).isoformat(),
                    "shipped_at": (delivered - timedelta(days=2)).isoformat(),
                    "delivered_at": delivered.isoformat(),
                    "carrier": "UPS",
                    "tracking_number": "1Z999",
                    "currency": "USD",
                    "total": "180.00",
                    "items": [
                        {"sku": "BT-1", "name": "Boots", "size": "42", "qty": 1, "price": "180.00", "final_sale": False}
                    ],
                }
            ]
        },
        actor=Actor.system("test"),
    )
    ToolPermission.objects.filter(workspace=workspace, tool="issue_refund").update(enabled=True)
    return new_ticket(
        workspace, "The boots from order A2002 do not fit. I want a refund please.", subject="Refund please"
    )


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base_url}/inbox/")


def open_ticket(page: Page, base_url: str, ticket) -> None:
    page.goto(f"{base_url}/inbox/tickets/{ticket.pk}/")
    expect(page.locator("#copilot .cp-draft")).to_be_visible(timeout=SLOW)


def test_it_fills_the_sidebar_in_after_the_page_renders(page: Page, live_server, agent, question):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server.url, agent.email)
    held: list[Route] = []
    page.route(re.compile(r".*/copilot/$"), lambda route: held.append(route))
    page.goto(f"{live_server.url}/inbox/tickets/{question.pk}/")
    # The page is there at once; the sidebar shows its loading state while the parts are made.
    expect(page.locator("h1")).to_contain_text("How long does delivery take?")
    expect(page.locator("#copilot .cp-status")).to_contain_text("Reading the conversation")
    expect(page.locator("#copilot .skeleton")).to_be_visible()
    expect(page.locator("#copilot .cp-nojs")).to_be_hidden()
    page.wait_for_function("document.querySelector('#copilot-body.cp-loading') !== null")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    page.screenshot(path=str(SCREENSHOTS / "copilot_loading.png"))
    assert held, "the sidebar request never left the page"
    held[0].continue_()

    sidebar = page.locator("#copilot")
    expect(sidebar.locator(".cp-draft")).to_be_visible(timeout=SLOW)
    expect(sidebar.locator(".skeleton")).to_have_count(0)
    expect(sidebar).to_contain_text("Summary")
    expect(sidebar).to_contain_text("Asks:")
    expect(sidebar.locator("[role=meter]")).to_have_attribute("aria-valuenow", re.compile(r"^\d+$"))
    # The article's own URL (its front matter `url`), the one the shop's customers know.
    expect(sidebar.locator(".cp-citations a").first).to_have_attribute(
        "href", re.compile(r"^https://acme\.test/help/[a-z-]+$")
    )
    expect(sidebar.get_by_role("link", name="Why did the AI say this?")).to_have_attribute(
        "href", re.compile(r"#run-\d+$")
    )
    page.screenshot(path=str(SCREENSHOTS / "copilot_ticket.png"), full_page=True)

    # The help overlay opens with "?" and closes with Escape.
    page.locator("body").press("?")
    expect(page.locator("#shortcuts-help")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "copilot_shortcuts.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts-help")).to_be_hidden()


def test_it_inserts_the_draft_then_sends_it_edited(page: Page, live_server, agent, question):
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, question)
    page.evaluate("window.__oasisMarker = 'ticket'")
    # "i" inserts the draft, as the button does.
    page.locator("body").press("i")
    composer = page.locator("#id_reply-body")
    expect(composer).to_be_focused()
    draft = composer.input_value()
    assert "business days" in draft
    composer.press("End")
    composer.type("\n\nPS: I have flagged your order as urgent.")
    composer.press("Control+Enter")

    expect(page.locator("#thread .msg-reply")).to_have_count(1)
    expect(page.locator("#thread .msg-reply")).to_contain_text("flagged your order as urgent")
    expect(composer).to_have_value("")
    expect(page.locator("#copilot [data-testid=feedback]")).to_contain_text("Edited, then sent", timeout=SLOW)
    assert page.evaluate("window.__oasisMarker") == "ticket"
    assert DraftFeedback.objects.get().verdict == "edited"


def test_it_sends_the_draft_as_is(page: Page, live_server, agent, question):
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, question)
    page.click("#copilot button:has-text('Send as is')")
    expect(page.locator("#thread .msg-reply")).to_have_count(1)
    expect(page.locator("#ticket-header .badge-status")).to_have_text("Pending")
    expect(page.locator("#copilot [data-testid=feedback]")).to_contain_text("Sent unchanged", timeout=SLOW)
    reply = Message.objects.get(ticket=question, kind=MessageKind.REPLY)
    assert DraftFeedback.objects.get().verdict == "sent_unchanged"
    assert "business days" in reply.body


def test_it_discards_the_draft_with_a_reason(page: Page, live_server, agent, question):
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, question)
    page.click("#copilot summary:has-text('Discard')")
    page.get_by_label("Why discard it?").select_option("tone")
    page.click("#copilot button:has-text('Discard draft')")
    expect(page.locator("#copilot [data-testid=feedback]")).to_contain_text("Discarded: wrong tone")
    expect(page.locator("#copilot .cp-draft")).to_have_class(re.compile("cp-discarded"))
    feedback = DraftFeedback.objects.get()
    assert (feedback.verdict, feedback.reason) == ("discarded", "tone")


def test_it_shows_a_refund_over_100_as_pending_approval(page: Page, live_server, agent, refund_ticket):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, refund_ticket)
    sidebar = page.locator("#copilot")
    expect(sidebar.locator(".cp-proposed")).to_contain_text("Refund 180.00 USD on order A2002")
    expect(sidebar.locator(".cp-proposed")).to_contain_text("Needs approval")
    sidebar.get_by_role("button", name="Request approval for issue_refund").click()
    expect(sidebar.locator(".cp-pending")).to_contain_text("Pending approval")
    expect(sidebar.locator(".cp-pending")).to_contain_text("180.00 USD")
    expect(sidebar.locator(".alert-info")).to_contain_text("waiting for a manager's approval")
    page.screenshot(path=str(SCREENSHOTS / "copilot_pending_approval.png"), full_page=True)
    action = ActionRequest.objects.get(ticket=refund_ticket)
    assert (action.status, action.tool) == ("pending", "issue_refund")


def test_it_shows_a_new_customer_message_without_a_reload(page: Page, live_server, agent, question):
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, question)
    page.evaluate("window.__oasisMarker = 'still here'")
    expect(page.locator("#thread .msg-customer")).to_have_count(1)

    ticket_add_customer_message(ticket=question, body="Update: I found the tracking link, all good now!")

    expect(page.locator("#thread .msg-customer")).to_have_count(2, timeout=SLOW)
    expect(page.locator("#thread")).to_contain_text("I found the tracking link")
    # The sidebar follows the new message: a fresh summary of what is open.
    expect(page.locator("#copilot .cp-summary")).to_contain_text("tracking link", timeout=SLOW)
    assert page.evaluate("window.__oasisMarker") == "still here"

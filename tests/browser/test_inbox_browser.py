"""The inbox in real Chromium: a reply lands in the thread over HTMX, without a page load."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from audit.services import Actor
from conftest import PASSWORD
from helpdesk.models import Message, MessageKind, Ticket
from helpdesk.services import ticket_add_customer_message, ticket_add_note, ticket_assign, ticket_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def busy_inbox(workspace, agent, ticket):
    """A few tickets so the list and the thread look like a working day."""
    ticket_add_customer_message(ticket=ticket, body="It was supposed to arrive on Monday.\nOrder A1001, two items.")
    ticket_add_note(ticket=ticket, body="Carrier shows a delay at the depot.", actor=Actor.for_user(agent))
    ticket_assign(ticket=ticket, assignee=agent, actor=Actor.for_user(agent))
    Ticket.objects.filter(pk=ticket.pk).update(
        ticket_type="order_status", ai_decision="draft", ai_confidence=0.72, ai_reason="Tracking data is stale"
    )
    for subject, body, channel in [
        ("Refund for damaged jacket", "The zipper broke after one day. I want my money back.", "web"),
        ("Change my shipping address", "Please send order A1003 to my office instead.", "chat"),
        ("Do the boots run small?", "I usually wear a 42. Which size should I order?", "email"),
    ]:
        ticket_create(
            workspace=workspace,
            channel=channel,
            customer_email=f"{channel}@customer.test",
            customer_name=f"{channel.title()} Customer",
            subject=subject,
            body=body,
        )
    return ticket


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.screenshot(path=str(SCREENSHOTS / "login.png"))
    page.fill("#id_username", email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base_url}/inbox/")


def test_it_sends_a_reply_without_reloading_the_page(page: Page, live_server, agent, busy_inbox):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    log_in(page, live_server.url, agent.email)
    expect(page.locator("#ticket-list tbody tr")).to_have_count(4)
    page.screenshot(path=str(SCREENSHOTS / "inbox_list.png"), full_page=True)

    # The filter form swaps only the list.
    page.evaluate("window.__oasisMarker = 'inbox'")
    page.select_option("#id_channel", "chat")
    expect(page.locator("#ticket-list tbody tr")).to_have_count(1)
    expect(page).to_have_url(
        f"{live_server.url}/inbox/?q=&status=&ticket_type=&channel=chat&assignee=&ai_decision=&confidence_min=&confidence_max="
    )
    assert page.evaluate("window.__oasisMarker") == "inbox"
    page.select_option("#id_channel", "")
    expect(page.locator("#ticket-list tbody tr")).to_have_count(4)

    page.click("a:has-text('Where is my order?')")
    expect(page.locator("h1")).to_contain_text("Where is my order?")
    page.evaluate("window.__oasisMarker = 'ticket'")

    # An empty reply comes back as the form with its error (a 400 that htmx swaps in).
    page.click("button:has-text('Send reply')")
    expect(page.locator("#reply-errors")).to_have_text("The message is empty.")

    page.fill("#id_reply-body", "Hi Carla,\nyour parcel left the depot this morning.")
    page.click("button:has-text('Send reply')")

    reply = page.locator("#thread .msg-reply")
    expect(reply).to_have_count(1)
    expect(reply).to_contain_text("your parcel left the depot this morning.")
    expect(page.locator("#id_reply-body")).to_have_value("")
    expect(page.locator("#reply-errors")).to_have_count(0)
    expect(page.locator("#ticket-header .badge-status")).to_have_text("Pending")
    # Same document: the marker set before sending survives, so there was no page load.
    assert page.evaluate("window.__oasisMarker") == "ticket"
    assert Message.objects.filter(ticket=busy_inbox, kind=MessageKind.REPLY).count() == 1

    page.screenshot(path=str(SCREENSHOTS / "inbox_ticket.png"), full_page=True)

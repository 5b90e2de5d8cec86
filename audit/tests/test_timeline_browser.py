"""The timeline in real Chromium: the run card reads without raw JSON, hostile text stays inert.

The walk starts in the inbox: the ticket page links to its audit timeline;
this test starts at the ticket page and clicks through to the timeline as a reviewer would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from audit.models import AuditEvent
from audit.tests.conftest import record_run
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_it_shows_an_ai_run_and_keeps_a_hostile_draft_inert(page: Page, live_server, agent, manager, ticket):
    record_run(ticket, approver=manager)
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", agent.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{live_server.url}/inbox/tickets/{ticket.pk}/")
    # The reviewer's path: from the ticket in the inbox, one click to "what happened and why".
    page.get_by_test_id("timeline-link").click()
    page.wait_for_url(f"**/audit/tickets/{ticket.pk}/")
    card = page.locator("#run-41")
    expect(card.get_by_role("heading", name="Decision: Sent to the customer automatically")).to_be_visible()
    expect(card.get_by_role("link", name="Shipping times").first).to_have_attribute(
        "href", "https://help.acme.test/shipping"
    )
    expect(card.locator(".audit-draft")).to_contain_text("<script>alert('pwned')</script>")
    raw = card.locator("details.audit-raw")
    expect(raw.locator("pre").first).not_to_be_visible()
    raw.locator("summary").click()
    expect(raw.locator("pre").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "audit-timeline.png"), full_page=True)
    assert dialogs == []
    page.goto(f"{live_server.url}/trust/")
    # The real Agent also answered the ticket's first message (tasks run inline in tests),
    # so the page must count every scored reply in the workspace, not just the fixture's.
    scored = AuditEvent.objects.filter(workspace=ticket.workspace, kind="ai.scored").count()
    assert scored >= 1
    noun = "reply" if scored == 1 else "replies"
    expect(page.get_by_test_id("confidence-answer")).to_contain_text(f"Yes. {scored} AI {noun} scored")
    page.screenshot(path=str(SCREENSHOTS / "trust.png"), full_page=True)

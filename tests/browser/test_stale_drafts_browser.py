"""No stale or double sends from the Copilot, in real Chromium: a draft is bound to the message
it answers; once a reply or a newer customer message exists it is marked outdated and cannot be
sent as is, whichever tab still shows it. What reaches the customer carries no [n] markers."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ai.models import AgentRun, DraftFeedback
from ai.tests.agent_support import helpcenter  # noqa: F401 (fixture)
from audit.services import Actor
from helpdesk.models import Message, MessageKind
from helpdesk.services import ticket_reply, ticket_resolve
from tests.browser.support import SLOW, delivery_question, log_in, look_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def question(workspace, helpcenter):  # noqa: F811
    return delivery_question(workspace)


def open_ticket(page: Page, base: str, ticket) -> None:
    page.goto(f"{base}/inbox/tickets/{ticket.pk}/")
    expect(page.locator("#copilot .cp-draft")).to_be_visible(timeout=SLOW)


def test_it_sends_a_draft_once_when_two_tabs_click_send_as_is(page: Page, live_server, agent, question):
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, question)
    other = page.context.new_page()
    open_ticket(other, live_server.url, question)
    # A tab left behind (a sleeping laptop): it does not poll, so it still offers the old draft.
    other.evaluate("document.getElementById('live').remove()")
    expect(other.locator("#copilot").get_by_role("button", name="Send as is")).to_be_visible()

    page.locator("#copilot").get_by_role("button", name="Send as is").click()
    expect(page.locator("#thread .msg-reply")).to_have_count(1)
    # The second tab still shows the old sidebar; its click is refused, nothing is sent twice.
    other.locator("#copilot").get_by_role("button", name="Send as is").click()
    expect(other.locator("#copilot .alert-error")).to_contain_text("This draft is outdated", timeout=SLOW)
    assert Message.objects.filter(ticket=question, kind=MessageKind.REPLY).count() == 1
    assert DraftFeedback.objects.filter(run__ticket=question).count() == 1
    # What went out has no [n] marker; the source is a link at the end (e-mail channel).
    run = AgentRun.objects.get(ticket=question)
    body = Message.objects.get(ticket=question, kind=MessageKind.REPLY).body
    assert re.search(r"\[\d\]", run.draft) and not re.search(r"\[\d\]", body)
    assert f"Sources:\n- {run.citations[0]['title']}: {run.citations[0]['url']}" in body
    other.reload()
    expect(other.locator("#copilot [data-testid=feedback]")).to_contain_text("Sent unchanged", timeout=SLOW)
    expect(other.locator("#copilot").get_by_role("button", name="Send as is")).to_have_count(0)


def test_it_marks_the_draft_outdated_after_a_human_reply_and_on_a_resolved_ticket(
    page: Page, live_server, agent, question
):
    log_in(page, live_server.url, agent.email)
    open_ticket(page, live_server.url, question)
    # "Insert" puts the draft in the composer without its citation markers.
    page.locator("#copilot").get_by_role("link", name="Insert into reply").click()
    inserted = page.locator("#id_reply-body").input_value()
    assert "business days" in inserted and not re.search(r"\[\d\]", inserted)

    ticket_reply(ticket=question, body="Standard delivery is 3-5 days, have a great trip!", actor=Actor.for_user(agent))
    page.reload()
    sidebar = page.locator("#copilot")
    expect(sidebar.get_by_test_id("draft-outdated")).to_contain_text(f"{agent.email} already replied", timeout=SLOW)
    expect(sidebar.get_by_role("button", name="Send as is")).to_have_count(0)
    expect(sidebar.get_by_role("link", name="Insert into reply")).to_have_count(0)
    look_at(page, "ticket-outdated-draft")

    ticket_resolve(ticket=question, actor=Actor.for_user(agent), reason="answered")
    page.reload()
    expect(page.locator("#copilot").get_by_test_id("final-state")).to_contain_text("Resolved.", timeout=SLOW)
    page.goto(f"{live_server.url}/inbox/")
    row = page.locator("tr", has_text="How long does delivery take?")
    expect(row.locator(".col-ai")).not_to_contain_text("Draft ready")
    expect(row.locator(".col-ai")).to_contain_text("Team resolved")

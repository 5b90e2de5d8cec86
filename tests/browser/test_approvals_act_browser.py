"""Approvals people can act on, in real Chromium: the action in words with its order, a reply
the manager may edit, approve or reject with a reason, a refund that waits for its return, and
afterwards the ticket and the Copilot say what happened."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ai.models import ActionRequest, ActionStatus, AgentRun, RefundTiming, ShopPolicy
from ai.tests.tools_support import DRAFT, held_refund, make_order, verified
from helpdesk.models import Message, MessageKind, Order, ShopMovement, TicketStatus
from tests.browser.support import axe_violations, log_in, look_at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held(workspace, ticket, manager):
    """A refund of 150.00 on A1002 the Agent proposed and an approval rule holds."""
    make_order(workspace, "A1002", total="250.00")
    verified(ticket)
    call = {"tool": "issue_refund", "args": {"order_number": "A1002", "amount": "150.00"}, "status": "pending_approval"}
    # The Agent's run on the ticket's message (it ran when the ticket arrived), as it planned the refund.
    AgentRun.objects.filter(ticket=ticket).update(
        kind="agent",
        status="done",
        decision="awaiting_approval",
        confidence=0.93,
        draft=DRAFT,
        tool_calls=[call],
        reason="approval required",
    )
    run = AgentRun.objects.get(ticket=ticket)
    return held_refund(ticket, amount="150.00", run=run)


def test_it_approves_a_refund_with_the_reply_the_manager_wrote(page: Page, live_server, manager, ticket, held):
    log_in(page, live_server.url, manager.email)
    # Every control of the top bar, the kill switch's menu open, meets WCAG AA.
    page.locator(".kill-switch > summary").click()
    assert axe_violations(page) == []
    page.goto(f"{live_server.url}/approvals/")
    card = page.locator(f"#action-{held.pk}")
    expect(card.get_by_test_id("action-words")).to_have_text(
        "Refund 150.00 USD on order A1002 to the original payment method"
    )
    expect(card.get_by_test_id("order-facts")).to_contain_text("Total")
    expect(card).to_contain_text("Where is my order?")  # the customer's message
    reply = card.locator("textarea[name=reply]")
    expect(reply).to_have_value(DRAFT)
    reply.fill("Hi Carla, I have refunded 150.00 USD for your boots. Sorry they did not fit!")
    card.get_by_role("button", name="Approve and send").click()
    expect(page.locator(".messages")).to_contain_text("Approved: Refund 150.00 USD on order A1002")

    held.refresh_from_db()
    assert held.status == ActionStatus.EXECUTED
    sent = Message.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert sent.body.startswith("Hi Carla, I have refunded 150.00 USD for your boots.")
    assert "Refund confirmation: 150.00 USD on order A1002" in sent.body
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING and ticket.ai_decision == "approved"

    # The ticket and its sidebar say what happened; the executed refund is not "not allowed".
    page.goto(f"{live_server.url}/inbox/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-header .badge-status")).to_have_text("Pending")
    expect(page.locator("#ticket-meta")).to_contain_text("Approved")
    proposed = page.locator("#copilot .cp-proposed")
    expect(proposed).to_contain_text("Refund 150.00 USD on order A1002", timeout=20_000)
    expect(proposed).to_contain_text(f"Executed by {manager.email}")
    expect(page.locator("#copilot")).not_to_contain_text("Not allowed")
    look_at(page, "ticket-after-approval")


def test_it_rejects_only_with_a_reason_and_sends_nothing(page: Page, live_server, manager, ticket, held):
    log_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/approvals/")
    card = page.locator(f"#action-{held.pk}")
    reject = card.get_by_role("button", name="Reject")
    approve = card.get_by_role("button", name="Approve and send")
    looks = [
        b.evaluate("b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]") for b in (approve, reject)
    ]
    assert looks[0] != looks[1]
    reject.click()
    expect(page.locator(".messages")).to_contain_text("Say why the request is rejected.")
    assert ActionRequest.objects.get(pk=held.pk).status == ActionStatus.PENDING
    page.locator(f"#action-{held.pk} input[name=note]").fill("Outside the return window")
    page.locator(f"#action-{held.pk}").get_by_role("button", name="Reject").click()
    expect(page.locator(".decided-list")).to_contain_text("Rejected")
    expect(page.locator(".decided-list")).to_contain_text("Outside the return window")
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY).exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.ai_decision == "escalate"


def test_it_opens_the_return_first_when_the_shop_refunds_on_arrival(
    page: Page, live_server, workspace, manager, ticket
):
    ShopPolicy.objects.create(workspace=workspace, refund_timing=RefundTiming.AFTER_RETURN)
    make_order(workspace, "A1002", total="250.00")
    verified(ticket)
    # 30.00 is under the 100.00 rule: the shop policy alone holds it for the return.
    action = held_refund(ticket, amount="30.00")
    assert action.rule["source"] == "shop_policy"
    log_in(page, live_server.url, manager.email)
    page.goto(f"{live_server.url}/approvals/")
    card = page.locator(f"#action-{action.pk}")
    expect(card).to_contain_text("approving opens the return now, and the refund is paid when the item is back")
    look_at(page, "approvals-refund-timing")
    card = page.locator(f"#action-{action.pk}")
    card.get_by_role("button", name="Approve: open the return").click()
    expect(page.locator("#return-heading")).to_contain_text("Refunds waiting for the returned item (1)")

    action.refresh_from_db()
    order = Order.objects.get(number="A1002")
    assert action.status == ActionStatus.WAITING_RETURN
    assert order.refunded_total == 0
    assert list(ShopMovement.objects.filter(order=order).values_list("kind", flat=True)) == ["return_opened"]
    told = Message.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert "Your return for order A1002 is open" in told.body and "as soon as it arrives" in told.body

    page.get_by_role("button", name="The item is back: pay the refund").click()
    expect(page.locator(".messages")).to_contain_text("The refund is paid")
    action.refresh_from_db()
    order.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED
    assert (order.status, str(order.refunded_total)) == ("returned", "30.00")
    last = Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY).order_by("-pk").first()
    assert last is not None and "Refund confirmation: 30.00 USD on order A1002" in last.body

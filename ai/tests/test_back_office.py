"""Back-office behaviours below the browser: the Agent never answers after a person, replies
carry sources per channel, held actions in words, an edited approved reply, refund timing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from ai.agent.pipeline import agent_run_for_message
from ai.models import ActionStatus, ConfidenceRule, RefundTiming, ShopPolicy
from ai.tests.agent_support import first_message, new_ticket
from ai.tests.tools_support import DRAFT, held_refund, make_order, verified
from ai.tools.approvals import action_approve, action_return_arrived
from ai.tools.describe import action_words
from ai.tools.review import action_review
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Message, MessageKind, Order, ShopMovement
from helpdesk.services import ticket_reply, workspace_update

pytest_plugins = ["ai.tests.agent_support"]

QUESTION = "How long is the password reset link valid?"


@pytest.fixture
def sends_answers(workspace):
    """A help-center answer scores about 0.6 (P(resolves) of a quoted sentence): these tests are
    about what happens when the Agent would send, so the workspace sends at 50 %."""
    return ConfidenceRule.objects.create(workspace=workspace, autosend_threshold=0.5)


def test_it_does_not_answer_after_a_person_already_did(workspace, helpcenter, agent_mode, agent, sends_answers):
    ticket = new_ticket(workspace, QUESTION)
    # The run was queued when the message came in; a person answers before a worker gets to it.
    ticket_reply(ticket=ticket, body="Reset links last one hour.", actor=Actor.for_user(agent))
    run = agent_run_for_message(message_id=first_message(ticket).pk)
    assert run is not None and run.decision == "draft"
    assert run.reason.startswith("not sent:") and agent.email in run.reason
    assert list(
        Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY).values_list("author_kind", flat=True)
    ) == ["agent"]


@pytest.mark.parametrize(("channel", "links"), [("email", True), ("chat", False)])
def test_it_links_sources_on_the_channels_that_want_them(
    workspace, helpcenter, agent_mode, sends_answers, channel, links
):
    ticket = new_ticket(workspace, QUESTION, channel=channel)
    run = agent_run_for_message(message_id=first_message(ticket).pk)
    assert run is not None and run.decision == "autosend", run.reason
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert "[1]" in run.draft and "[1]" not in reply.body
    assert ("Sources:" in reply.body) is links
    # The setting is the workspace's: chat too, once it is ticked.
    workspace_update(workspace=workspace, actor=Actor.system("test"), changes={"source_link_channels": "chat"})
    workspace.refresh_from_db()
    assert workspace.links_sources_on("chat") and not workspace.links_sources_on("email")


def test_it_says_what_a_held_action_does_and_shows_its_order(workspace, ticket, manager):
    make_order(workspace, "A1002", total="250.00")
    verified(ticket)
    action = held_refund(ticket, amount="150.00")
    review = action_review(action)
    assert review.words == "Refund 150.00 USD on order A1002 to the original payment method"
    assert review.order is not None and review.order.window_open and review.order.refunds == []
    assert review.customer_message is not None and "A1001" in review.customer_message.body
    assert action_words("cancel_order", {"order_number": "A9"}) == "Cancel order A9 before it ships"
    assert action.rule["label"] == "issue refund over 100.00 needs a manager's approval"


def test_an_edited_reply_goes_out_and_the_audit_keeps_both(workspace, ticket, manager):
    make_order(workspace, "A1002", total="250.00")
    verified(ticket)
    action = held_refund(ticket, amount="150.00")
    done = action_approve(action=action, user=manager, reply="Hi Carla, 150.00 USD is on its way back to you.")
    assert done.status == ActionStatus.EXECUTED
    sent = Message.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert sent.body.startswith("Hi Carla, 150.00 USD is on its way back to you.")
    event = AuditEvent.objects.get(ticket=ticket, kind="action.approved")
    assert event.data["reply_edited"] is True
    assert (event.data["reply_before"], event.data["reply_after"]) == (DRAFT, sent.body.split("\n\n")[0])
    ticket.refresh_from_db()
    assert (ticket.status, ticket.ai_decision) == ("pending", "approved")


def test_a_refund_waits_for_its_return_when_the_policy_says_so(workspace, ticket, manager, agent):
    ShopPolicy.objects.create(workspace=workspace, refund_timing=RefundTiming.AFTER_RETURN)
    make_order(workspace, "A1002", total="250.00")
    verified(ticket)
    action = held_refund(ticket, amount="30.00")  # under the 100.00 rule: the policy alone holds it
    assert action_review(action).waits_for_return
    done = action_approve(action=action, user=manager)
    assert done.status == ActionStatus.WAITING_RETURN
    order = Order.objects.get(number="A1002")
    assert order.refunded_total == Decimal("0.00")
    assert [m.kind for m in ShopMovement.objects.filter(order=order)] == ["return_opened"]
    with pytest.raises(PermissionDenied):
        action_return_arrived(action=done, user=agent)  # agents do not pay refunds
    paid = action_return_arrived(action=done, user=manager)
    order.refresh_from_db()
    assert paid.status == ActionStatus.EXECUTED
    assert (order.status, order.refunded_total) == ("returned", Decimal("30.00"))
    assert AuditEvent.objects.filter(ticket=ticket, kind="shop.return_arrived").count() == 1


def test_the_badge_and_the_reason_agree_at_the_threshold():
    from django.template.loader import render_to_string

    from ai.agent.decide import decide
    from helpdesk.templatetags.oasis_percent import pct

    verdict = decide(
        mode="agent", ticket_type="order_status", confidence=0.8995, threshold=0.9, rule={}, has_sources=True
    )
    assert (verdict.decision, verdict.reason) == ("draft", "confidence 89.9% is below the threshold of 90%")
    assert (pct(0.8995), pct(0.9), pct(0.85)) == ("89.9%", "90%", "85%")
    badge = render_to_string("helpdesk/_ai_badge.html", {"decision": "draft", "confidence": 0.8995, "status": "open"})
    assert "Draft ready · 89.9%" in badge

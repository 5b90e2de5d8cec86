"""Replies that resolve: the Agent acts (or queues approval) before it answers, never sends a reply
that leaves an ask open, answers first and cites only what it quotes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from ai.models import ActionRequest, ActionStatus, ConfidenceRule, ShopPolicy, ToolPermission
from ai.tests.agent_support import ai_replies, new_ticket, run_agent
from ai.tests.tools_support import make_order
from helpdesk.models import Order, OrderStatus

pytest_plugins = ["ai.tests.agent_support"]


def enable(workspace, *tools):
    ToolPermission.objects.filter(workspace=workspace, tool__in=tools).update(enabled=True)


@pytest.fixture
def low_threshold(workspace):
    return ConfidenceRule.objects.create(workspace=workspace, autosend_threshold=0.5)


def test_a_tool_not_on_the_allow_list_never_autosends_and_the_draft_says_what_it_needs(
    workspace, helpcenter, agent_mode, low_threshold
):
    ticket = new_ticket(workspace, "The reset email never came. Please send me a new password reset link.")
    run = run_agent(ticket)
    assert run.decision == "draft" and ai_replies(ticket) == []
    assert "needs send_password_reset, which this workspace does not allow" in run.reason
    enable(workspace, "send_password_reset")
    again = new_ticket(workspace, "The reset email never came. Please send me a new password reset link.")
    done = run_agent(again)
    assert done.decision == "autosend", done.reason
    assert "I've sent a new password reset link to carla@customer.test." in ai_replies(again)[0].body


def test_a_missing_detail_never_autosends(workspace, helpcenter, agent_mode, low_threshold):
    enable(workspace, "update_shipping_address")
    make_order(workspace, "A1003", status=OrderStatus.PROCESSING, total="60.00")
    ticket = new_ticket(workspace, "Please change the shipping address of order A1003, I am moving next week.")
    run = run_agent(ticket)
    assert run.decision == "draft" and ai_replies(ticket) == []
    assert "ask the customer for the address" in run.reason
    assert "full new shipping address" in run.draft
    assert run.confidence is not None and run.confidence <= 0.3


def test_an_ask_the_policy_forbids_goes_to_a_person_whatever_the_words(workspace, helpcenter, agent_mode):
    enable(workspace, "issue_refund")
    make_order(workspace, "A1005", total="50.00", items=[{"sku": "GIFT-50", "name": "Gift card", "price": "50.00"}])
    ticket = new_ticket(workspace, "Hi, could you refund the gift card from order A1005? Nobody will use it.")
    run = run_agent(ticket)
    assert (run.decision, run.ticket_type) == ("escalate", "policy_exception")
    assert "gift cards are never refundable" in run.reason
    ticket.refresh_from_db()
    assert ticket.ticket_type == "policy_exception" and ai_replies(ticket) == []


def test_a_refund_over_the_limit_waits_for_approval_and_the_reply_says_it_is_reviewed(
    workspace, helpcenter, agent_mode, low_threshold
):
    enable(workspace, "issue_refund")
    make_order(workspace, "A1002", total="150.00", items=[{"sku": "TENT-1", "name": "Trail tent", "price": "150.00"}])
    ticket = new_ticket(workspace, "The tent from order A1002 leaks. I want to return it for a refund.")
    run = run_agent(ticket)
    assert run.decision == "awaiting_approval", run.reason
    [action] = ActionRequest.objects.filter(ticket=ticket)
    assert (action.tool, action.status, action.args["amount"]) == ("issue_refund", ActionStatus.PENDING, "150.00")
    assert "to a team lead for approval" in run.draft
    assert "I've refunded $150.00 for order A1002" in action.reply_draft  # what goes once approved
    assert ai_replies(ticket) == []


def test_the_reply_answers_first_and_cites_only_what_it_quotes(workspace, helpcenter, orders, agent_mode):
    ticket = new_ticket(workspace, "Where is my order A1001? When will it arrive?")
    run = run_agent(ticket)
    body = run.draft.split("\n\n")
    assert body[1].startswith("Your order A1001 shipped on November 12 with UPS; the tracking number is 1Z999AA")
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", run.draft)})
    assert markers == list(range(1, len(run.citations) + 1)) and len(run.citations) <= 2
    assert "status shipped" not in run.draft and "From our help center" not in run.draft


def test_status_words_and_dates_are_written_in_the_customers_language(workspace, helpcenter, orders, agent_mode):
    ticket = new_ticket(workspace, "Hola, ¿dónde está mi pedido A1001? Todavía no ha llegado.")
    run = run_agent(ticket)
    assert run.language == "es"
    assert "se envió el 12 de noviembre con UPS" in run.draft
    assert "shipped" not in run.draft


def test_thanks_only_is_answered_as_thanks(workspace, helpcenter, agent_mode, low_threshold):
    ticket = new_ticket(workspace, "Thanks, everything's great! The jacket is perfect.")
    run = run_agent(ticket)
    assert (run.ticket_type, run.decision) == ("other", "autosend"), run.reason
    assert "glad" in ai_replies(ticket)[0].body


RAIN_JACKET = [{"sku": "JKT-RAIN", "name": "Rain jacket", "price": "60.00"}]


@pytest.mark.parametrize(
    ("address", "message", "refunded", "fee_said"),
    [
        ("Ann Lee, 12 King St W, Toronto ON M5H 1A1, Canada", "it doesn't fit", "52.05", True),
        ("Ann Lee, 1 Main St, Springfield IL 62701, USA", "it doesn't fit", "60.00", False),
        ("Ann Lee, 12 King St W, Toronto ON M5H 1A1, Canada", "it arrived torn", "60.00", False),
    ],
)
def test_a_refund_deducts_the_label_fee_the_policy_names_for_the_customers_country(
    workspace, helpcenter, agent_mode, low_threshold, address, message, refunded, fee_said
):
    enable(workspace, "issue_refund")
    ShopPolicy.objects.create(workspace=workspace, return_fee=Decimal("7.95"), return_fee_free_countries="USA")
    order = make_order(workspace, "A1010", total="60.00", items=RAIN_JACKET)
    Order.objects.filter(pk=order.pk).update(shipping_address=address)
    text = f"Hi, I'd like to return the rain jacket from order A1010, {message}. Refund please."
    ticket = new_ticket(workspace, text)
    run = run_agent(ticket)
    assert run.decision == "autosend", run.reason
    order.refresh_from_db()
    assert order.refunded_total == Decimal(refunded)
    body = ai_replies(ticket)[0].body
    assert f"I've refunded ${refunded} for order A1010" in body
    assert ("minus the $7.95 return-label fee" in body) is fee_said


def test_a_refund_whose_address_names_no_country_goes_to_a_person_when_a_fee_may_apply(
    workspace, helpcenter, agent_mode, low_threshold
):
    enable(workspace, "issue_refund")
    ShopPolicy.objects.create(workspace=workspace, return_fee=Decimal("7.95"), return_fee_free_countries="USA")
    make_order(workspace, "A1011", total="60.00", items=RAIN_JACKET)  # "1 Main St, Springfield": no country
    ticket = new_ticket(workspace, "Hi, I'd like to return the rain jacket from order A1011, it doesn't fit.")
    run = run_agent(ticket)
    assert run.decision == "draft" and ai_replies(ticket) == []
    assert "return fee: the order's address names no country" in run.reason


def test_two_asks_about_one_order_state_its_status_once():
    from ai.agent.answer import compose_local
    from ai.providers.chat_base import ChatRequest

    order = {
        "order": "A1001",
        "status": "shipped",
        "carrier": "UPS",
        "tracking_number": "1Z999",
        "shipped_at": "2026-11-12T15:00:00+00:00",
        "currency": "USD",
    }
    read = {"tool": "lookup_order", "args": {"order_number": "A1001"}, "status": "executed", "kind": "read"}
    steps = [
        {**read, "intent": "track", "result": order, "order": order},
        {**read, "intent": "refund", "result": order, "order": order, "notes": {"explain": "return_after_delivery"}},
    ]
    request = ChatRequest(
        workspace_id=1,
        workspace_name="Oasis",
        ticket_type="order_status",
        language="es",
        customer_name="Luis",
        subject="",
        text="¿dónde está mi pedido A1001 y tengo 30 días para devolverlo?",
        passages=[],
        steps=steps,
        today=dt.date(2026, 11, 14),
        policy={"return_window_days": 30},
    )
    reply = compose_local(request, []).reply
    assert reply.count("se envió el 12 de noviembre con UPS") == 1
    assert "puede devolverlo en un plazo de 30 días" in reply

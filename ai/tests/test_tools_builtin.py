from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ai.tests import tools_support
from ai.tests.tools_support import enable
from ai.tools import ToolCall, tool_check, tool_execute
from ai.tools.base import REPLY_TOOL
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Order, OrderStatus

shop = tools_support.shop  # the fixture, shared with the other tools tests

AI = Actor.ai("test")


def run(ticket, tool, **args):
    return tool_execute(ticket=ticket, call=ToolCall(tool, args), actor=AI)


def test_it_looks_up_the_customers_own_order_with_citable_fields(ticket, shop):
    result = run(ticket, "lookup_order", order_number="#a1001")
    assert result.status == "executed"
    assert result.result["order"] == "A1001" and result.result["status"] == "delivered"
    assert result.result["carrier"] == "UPS" and result.result["tracking_number"] == "1ZA1001"
    assert result.result["delivered_at"] and "shipping_address" not in result.result
    event = AuditEvent.objects.filter(kind="ai.tool_called").latest("seq")
    assert event.data["status"] == "executed" and event.data["result"]["order"] == "A1001"
    assert event.ticket_id == ticket.pk


def test_it_refuses_another_customers_order_and_audits_why(ticket, shop):
    result = run(ticket, "lookup_order", order_number="B2001")
    assert (result.status, result.reason, result.result) == ("refused", "order belongs to another customer", {})
    event = AuditEvent.objects.filter(kind="ai.tool_called").latest("seq")
    assert event.data["reason"] == "order belongs to another customer"


def test_it_refunds_within_policy_and_tracks_what_was_refunded(workspace, ticket, shop):
    enable(workspace, "issue_refund")
    first = run(ticket, "issue_refund", order_number="A1001", amount="15.00", reason="scuffed")
    assert first.status == "executed"
    assert first.result["amount"] == "15.00" and first.result["currency"] == "USD"
    assert first.result["confirmation"].startswith("RF-")
    second = run(ticket, "issue_refund", order_number="A1001", amount="30.00")
    assert second.status == "refused" and "25.00 USD refundable" in second.reason
    third = run(ticket, "issue_refund", order_number="A1001", amount="25")
    assert third.status == "executed"
    refunds = AuditEvent.objects.filter(kind="shop.refund_issued", data__order="A1001")
    assert sorted(Decimal(e.data["amount"]) for e in refunds) == [Decimal("15.00"), Decimal("25.00")]
    assert Order.objects.get(number="A1001").status == OrderStatus.RETURNED
    assert (
        run(ticket, "issue_refund", order_number="A1001", amount="1").reason == "order A1001 has already been refunded"
    )


def test_it_does_not_refund_twice_when_the_same_run_retries_a_call(workspace, ticket, shop):
    enable(workspace, "issue_refund")
    one = run(ticket, "issue_refund", order_number="A1001", amount="10.00")
    two = run(ticket, "issue_refund", order_number="A1001", amount="10.00")
    assert one.result["confirmation"] == two.result["confirmation"]
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        ("A1004", "outside the 30-day return window"),
        ("A1005", "final-sale items and gift cards are never refundable"),
        ("A1006", "is in transit"),
    ],
)
def test_it_enforces_the_refund_policy(workspace, ticket, shop, order, reason):
    enable(workspace, "issue_refund")
    check = tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": order, "amount": "5"}))
    assert not check.allowed and reason in check.reason


def test_it_cancels_an_unshipped_order_refunded_in_full(workspace, ticket, shop):
    enable(workspace, "issue_refund")
    assert run(ticket, "issue_refund", order_number="A1003", amount="60.00").status == "executed"
    assert Order.objects.get(number="A1003").status == OrderStatus.CANCELLED


def test_it_changes_the_address_only_before_shipment(workspace, ticket, shop):
    enable(workspace, "update_shipping_address")
    ok = run(ticket, "update_shipping_address", order_number="A1003", address="9 Elm Road, Shelbyville")
    assert ok.status == "executed" and ok.result["confirmation"].startswith("AD-")
    assert Order.objects.get(number="A1003").shipping_address == "9 Elm Road, Shelbyville"
    late = run(ticket, "update_shipping_address", order_number="A1001", address="9 Elm Road, Shelbyville")
    assert late.status == "refused" and "only change before shipment" in late.reason


def test_it_records_account_and_booking_actions_with_a_confirmation(workspace, ticket, shop):
    enable(workspace, "send_password_reset", "request_email_change", "book_appointment", "create_replacement")
    reset = run(ticket, "send_password_reset")
    assert reset.result["sent_to"] == "carla@customer.test" and reset.result["confirmation"].startswith("PR-")
    change = run(ticket, "request_email_change", new_email="carla.new@customer.test")
    assert change.result["confirm_via"] == "carla@customer.test"
    when = (timezone.now() + dt.timedelta(days=3)).replace(microsecond=0).isoformat()
    booking = run(ticket, "book_appointment", when=when, topic="fitting")
    assert booking.status == "executed" and booking.result["confirmation"].startswith("AP-")
    past = run(ticket, "book_appointment", when="2001-01-01T10:00:00+00:00")
    assert past.status == "refused" and "past" in past.reason
    replacement = run(ticket, "create_replacement", order_number="A1001")
    assert replacement.result["skus"] == ["SKU-A1001"]
    assert run(ticket, "create_replacement", order_number="A1003").status == "refused"
    kinds = set(AuditEvent.objects.filter(kind__startswith="shop.").values_list("kind", flat=True))
    assert kinds == {
        "shop.password_reset_sent",
        "shop.email_change_requested",
        "shop.appointment_booked",
        "shop.replacement_created",
    }


def test_it_simulates_write_tools_in_shadow_mode(workspace, ticket, shop):
    enable(workspace, "issue_refund")
    result = tool_execute(
        ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1002", "amount": "150"}), actor=AI, shadow=True
    )
    assert result.status == "simulated" and result.result["requires_approval"] is True
    assert not AuditEvent.objects.filter(kind="shop.refund_issued").exists()


def test_it_holds_a_call_an_approval_rule_matches(workspace, ticket, shop):
    enable(workspace, "issue_refund")
    check = tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1002", "amount": "150"}))
    assert check.allowed and check.requires_approval and check.rule is not None
    assert check.rule["amount_over"] == "100.00"
    assert check.amount == Decimal("150.00")
    small = tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1002", "amount": "100"}))
    assert small.allowed and not small.requires_approval
    held = run(ticket, "issue_refund", order_number="A1002", amount="150")
    assert held.status == "pending_approval"
    assert not AuditEvent.objects.filter(kind="shop.refund_issued").exists()
    assert REPLY_TOOL == "reply"

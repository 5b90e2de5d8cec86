from __future__ import annotations

import pytest

from ai.models import ToolPermission
from ai.tests import tools_support
from ai.tests.tools_support import enable, make_order
from ai.tools import ToolCall, tool_catalog, tool_check, tool_execute, tool_schemas
from ai.tools.base import ToolFailed
from ai.tools.connector import SHOP_CONNECTOR_ACTION, DbShopConnector
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Order, OrderStatus

shop = tools_support.shop  # the fixture, shared with the other tools tests
merchant = tools_support.merchant

AI = Actor.ai("test")


def cancel(ticket, *, shadow=False, **args):
    return tool_execute(ticket=ticket, call=ToolCall("cancel_order", args), actor=AI, shadow=shadow)


def test_it_is_a_disabled_write_tool_in_a_new_workspace(workspace):
    permission = ToolPermission.objects.get(workspace=workspace, tool="cancel_order")
    assert permission.enabled is False
    entry = next(e for e in tool_catalog(workspace=workspace) if e["name"] == "cancel_order")
    assert (entry["kind"], entry["enabled"], entry["schema"]["required"]) == (
        "write",
        False,
        ["order_number", "reason"],
    )
    assert "cancel_order" not in [s["function"]["name"] for s in tool_schemas(workspace=workspace)]
    enable(workspace, "cancel_order")
    assert "cancel_order" in [s["function"]["name"] for s in tool_schemas(workspace=workspace)]


def test_it_refuses_while_the_tool_is_not_enabled(ticket, shop):
    result = cancel(ticket, order_number="A1003", reason="no longer needed")
    assert result.status == "refused"
    assert Order.objects.get(number="A1003").status == OrderStatus.PROCESSING


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.PROCESSING])
def test_it_cancels_an_order_not_yet_shipped_and_audits_it(workspace, ticket, shop, status):
    enable(workspace, "cancel_order")
    make_order(workspace, "A1010", status=status, total="35.00")
    result = cancel(ticket, order_number="#a1010", reason="ordered by mistake")
    assert result.status == "executed", result.reason
    assert result.result["order"] == "A1010" and result.result["order_status"] == "cancelled"
    assert result.result["reason"] == "ordered by mistake" and result.result["confirmation"].startswith("CX-")
    assert Order.objects.get(number="A1010").status == OrderStatus.CANCELLED
    shop_event = AuditEvent.objects.get(kind="shop.order_cancelled")
    assert shop_event.ticket_id == ticket.pk
    assert (shop_event.data["order"], shop_event.data["previous_status"], shop_event.data["reason"]) == (
        "A1010",
        status,
        "ordered by mistake",
    )
    called = AuditEvent.objects.filter(kind="ai.tool_called").latest("seq")
    assert (called.data["tool"], called.data["status"]) == ("cancel_order", "executed")


@pytest.mark.parametrize(
    ("order", "status", "reason"),
    [
        ("A1006", OrderStatus.SHIPPED, "order A1006 is shipped; only orders not yet shipped can be cancelled"),
        ("A1001", OrderStatus.DELIVERED, "order A1001 is delivered; only orders not yet shipped can be cancelled"),
    ],
)
def test_it_refuses_orders_that_have_shipped(workspace, ticket, shop, order, status, reason):
    enable(workspace, "cancel_order")
    check = tool_check(ticket=ticket, call=ToolCall("cancel_order", {"order_number": order, "reason": "changed mind"}))
    assert not check.allowed and reason in check.reason
    result = cancel(ticket, order_number=order, reason="changed mind")
    assert result.status == "refused" and reason in result.reason
    assert Order.objects.get(number=order).status == status
    assert not AuditEvent.objects.filter(kind="shop.order_cancelled").exists()
    assert AuditEvent.objects.filter(kind="ai.tool_called", data__status="refused").exists()


def test_it_refuses_an_order_already_cancelled(workspace, ticket, shop):
    enable(workspace, "cancel_order")
    make_order(workspace, "A1011", status=OrderStatus.CANCELLED, delivered_days_ago=None)
    result = cancel(ticket, order_number="A1011", reason="no longer needed")
    assert (result.status, result.reason) == ("refused", "order A1011 is already cancelled")


def test_it_never_cancels_another_customers_order(workspace, ticket, shop):
    enable(workspace, "cancel_order")
    make_order(workspace, "B2002", email="bob@other.test", status=OrderStatus.PENDING)
    result = cancel(ticket, order_number="B2002", reason="no longer needed")
    assert (result.status, result.reason) == ("refused", "order belongs to another customer")
    assert Order.objects.get(number="B2002").status == OrderStatus.PENDING


def test_it_refuses_an_identity_or_missing_reason_passed_as_arguments(workspace, ticket, shop):
    enable(workspace, "cancel_order")
    make_order(workspace, "B2003", email="bob@other.test", status=OrderStatus.PENDING)
    spoofed = cancel(ticket, order_number="B2003", reason="x", customer_email="bob@other.test")
    assert spoofed.status == "refused" and "schema" in spoofed.reason
    no_reason = tool_check(ticket=ticket, call=ToolCall("cancel_order", {"order_number": "A1003"}))
    assert not no_reason.allowed and "'reason' is a required property" in no_reason.reason
    empty = tool_check(ticket=ticket, call=ToolCall("cancel_order", {"order_number": "A1003", "reason": ""}))
    assert not empty.allowed and "schema" in empty.reason
    assert Order.objects.get(number="B2003").status == OrderStatus.PENDING
    assert Order.objects.get(number="A1003").status == OrderStatus.PROCESSING


def test_it_only_simulates_in_shadow_mode(workspace, ticket, shop):
    enable(workspace, "cancel_order")
    result = cancel(ticket, shadow=True, order_number="A1003", reason="no longer needed")
    assert result.status == "simulated" and result.result["order"] == "A1003"
    assert Order.objects.get(number="A1003").status == OrderStatus.PROCESSING
    assert not AuditEvent.objects.filter(kind="shop.order_cancelled").exists()


def test_it_does_not_cancel_twice_when_the_same_call_is_retried(workspace, ticket, shop):
    enable(workspace, "cancel_order")
    one = cancel(ticket, order_number="A1003", reason="no longer needed")
    two = cancel(ticket, order_number="A1003", reason="no longer needed")
    assert one.status == "executed" and two.status == "refused"  # the second sees a cancelled order
    assert AuditEvent.objects.filter(kind="shop.order_cancelled").count() == 1


def test_the_connector_refuses_an_order_that_shipped_after_the_check(workspace, ticket, shop):
    connector = DbShopConnector(ticket=ticket, actor=AI)
    stale = connector.get_order("A1003")
    assert stale is not None
    Order.objects.filter(number="A1003").update(status=OrderStatus.SHIPPED)
    with pytest.raises(ToolFailed, match="can no longer be cancelled"):
        connector.cancel_order(stale, reason="late", key="k1")
    assert Order.objects.get(number="A1003").status == OrderStatus.SHIPPED


def test_it_cancels_through_the_merchant_api(workspace, ticket, merchant):
    from ai.models import HttpAction

    HttpAction.objects.create(
        workspace=workspace,
        name=SHOP_CONNECTOR_ACTION,
        description="Merchant backend",
        url_template=merchant.url,
        secret=merchant.secret,
        timeout_seconds=2,
    )
    order = {
        "number": "W700",
        "customer_email": "carla@customer.test",
        "status": "pending",
        "currency": "EUR",
        "total": "25.00",
        "items": [{"sku": "MUG", "name": "Mug", "price": "25.00"}],
    }
    merchant.routes[("GET", "/orders/W700")] = (200, order)
    merchant.routes[("POST", "/orders/W700/cancellation")] = (200, {"status": "cancelled", "confirmation": "M-1"})
    enable(workspace, "cancel_order")
    result = cancel(ticket, order_number="W700", reason="no longer needed")
    assert result.status == "executed", result.reason
    assert result.result["confirmation"] == "M-1"
    assert merchant.requests[-1]["body"] == {"reason": "no longer needed"}
    assert merchant.requests[-1]["signature_ok"] and merchant.executed == ["POST /orders/W700/cancellation"]

from __future__ import annotations

import json

import pytest

from ai.models import HttpAction
from ai.tests import tools_support
from ai.tests.tools_support import enable
from ai.tools import ToolCall, tool_check, tool_execute
from ai.tools.connector import SHOP_CONNECTOR_ACTION, HttpShopConnector, connector_for
from ai.tools.http_client import sign
from audit.models import AuditEvent
from audit.services import Actor

merchant = tools_support.merchant  # the fixture, shared with the other tools tests

AI = Actor.ai("test")
SCHEMA = {
    "type": "object",
    "properties": {
        "order_number": {"type": "string", "pattern": "^[A-Za-z0-9 /-]{1,20}$"},
        "months": {"type": "integer"},
    },
    "required": ["order_number", "months"],
    "additionalProperties": False,
}


@pytest.fixture
def warranty(workspace, merchant):
    action = HttpAction.objects.create(
        workspace=workspace,
        name="extend_warranty",
        description="Extend the warranty of an order",
        method="POST",
        url_template=merchant.url + "/orders/{order_number}/warranty?for={customer_email}",
        args_schema=SCHEMA,
        timeout_seconds=0.5,
        secret=merchant.secret,
    )
    enable(workspace, "extend_warranty")
    return action


def call(ticket, **args):
    return tool_execute(ticket=ticket, call=ToolCall("extend_warranty", args), actor=AI)


def path_of(merchant):
    return merchant.url


def test_it_calls_the_merchant_api_signed_with_identity_from_the_ticket(ticket, merchant, warranty):
    merchant.routes[("POST", "/orders/A%201%2F2/warranty?for=carla%40customer.test")] = (200, {"extended": True})
    result = call(ticket, order_number="A 1/2", months=12)
    assert result.status == "executed", result.reason
    assert result.result == {"action": "extend_warranty", "response": {"extended": True}}
    request = merchant.requests[-1]
    assert request["signature_ok"]
    assert request["headers"]["X-Oasis-Signature"] == sign(merchant.secret, request["raw"])
    assert request["body"] == {
        "args": {"order_number": "A 1/2", "months": 12},
        "customer_email": "carla@customer.test",
        "ticket": str(ticket.number),
    }
    assert request["key"]


def test_it_never_executes_twice_when_the_same_call_is_retried(ticket, merchant, warranty):
    merchant.routes[("POST", "/orders/A1/warranty?for=carla%40customer.test")] = (200, {"extended": True})
    call(ticket, order_number="A1", months=12)
    call(ticket, order_number="A1", months=12)
    keys = {r["key"] for r in merchant.requests}
    assert len(merchant.requests) == 2 and len(keys) == 1
    assert merchant.executed == ["POST /orders/A1/warranty?for=carla%40customer.test"]


@pytest.mark.parametrize(
    ("answer", "delay", "reason"),
    [
        ((503, {"error": "down"}), 0.0, "the merchant API server error: HTTP 503"),
        ((200, b"{not json"), 0.0, "malformed JSON"),
        ((200, b"[1, 2]"), 0.0, "not an object"),
        ((200, {"ok": True}), 1.5, "did not answer within 0.5 seconds"),
        ((422, {"error": "no"}), 0.0, "refused the request: HTTP 422"),
    ],
)
def test_it_reports_merchant_failures_as_failed_with_a_clear_reason(ticket, merchant, warranty, answer, delay, reason):
    merchant.routes[("POST", "/orders/A1/warranty?for=carla%40customer.test")] = answer
    merchant.delay = delay
    result = call(ticket, order_number="A1", months=3)
    assert result.status == "failed" and reason in result.reason
    event = AuditEvent.objects.filter(kind="ai.tool_called").latest("seq")
    assert event.data["status"] == "failed" and reason in event.data["reason"]


def test_it_keeps_the_secret_out_of_results_and_audit(ticket, merchant, warranty):
    merchant.routes[("POST", "/orders/A1/warranty?for=carla%40customer.test")] = (
        200,
        {"extended": True, "api_token": "leak-me", "signing_secret": merchant.secret},
    )
    result = call(ticket, order_number="A1", months=1)
    assert merchant.secret not in json.dumps(result.result) and "leak-me" not in json.dumps(result.result)
    for data in AuditEvent.objects.values_list("data", flat=True):
        assert merchant.secret not in json.dumps(data)


def test_it_refuses_arguments_outside_the_actions_schema(ticket, merchant, warranty):
    check = tool_check(ticket=ticket, call=ToolCall("extend_warranty", {"order_number": "A1", "months": "many"}))
    assert not check.allowed and "schema" in check.reason
    assert merchant.requests == []


# ---------------------------------------------------------------- HTTP shop connector

ORDER = {
    "number": "W500",
    "customer_email": "carla@customer.test",
    "status": "delivered",
    "placed_at": "2026-01-01T10:00:00Z",
    "delivered_at": "2099-01-01T10:00:00Z",
    "carrier": "DHL",
    "tracking_number": "JD0001",
    "currency": "EUR",
    "total": "80.00",
    "refunded": "20.00",
    "items": [{"sku": "BOOT", "name": "Boot", "price": "80.00"}],
}


@pytest.fixture
def http_shop(workspace, merchant):
    HttpAction.objects.create(
        workspace=workspace,
        name=SHOP_CONNECTOR_ACTION,
        description="Merchant backend",
        url_template=merchant.url,
        secret=merchant.secret,
        timeout_seconds=2,
    )
    merchant.routes[("GET", "/orders/W500")] = (200, ORDER)
    merchant.routes[("GET", "/orders/W999")] = (200, {**ORDER, "number": "W999", "customer_email": "bob@other.test"})
    return merchant


def test_it_selects_the_http_connector_when_the_workspace_configures_one(ticket, http_shop):
    assert isinstance(connector_for(ticket=ticket, actor=AI), HttpShopConnector)


def test_it_looks_up_and_refunds_through_the_merchant_api(workspace, ticket, http_shop):
    enable(workspace, "issue_refund")
    looked = tool_execute(ticket=ticket, call=ToolCall("lookup_order", {"order_number": "W500"}), actor=AI)
    assert looked.result["carrier"] == "DHL" and looked.result["currency"] == "EUR"
    assert all(r["signature_ok"] for r in http_shop.requests)
    over = tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": "W500", "amount": "70"}))
    assert not over.allowed and "60.00 EUR refundable" in over.reason
    http_shop.routes[("POST", "/orders/W500/refunds")] = (201, {"refund_id": "re_1", "status": "succeeded"})
    done = tool_execute(
        ticket=ticket, call=ToolCall("issue_refund", {"order_number": "W500", "amount": "60"}), actor=AI
    )
    assert done.status == "executed", done.reason
    body = http_shop.requests[-1]["body"]
    assert body == {"amount": "60.00", "currency": "EUR", "reason": ""}
    assert http_shop.executed == ["POST /orders/W500/refunds"]


def test_it_refuses_another_customers_order_from_the_merchant_api(workspace, ticket, http_shop):
    check = tool_check(ticket=ticket, call=ToolCall("lookup_order", {"order_number": "W999"}))
    assert check.reason == "order belongs to another customer"
    missing = tool_check(ticket=ticket, call=ToolCall("lookup_order", {"order_number": "W404"}))
    assert missing.reason == "no order W404 was found"

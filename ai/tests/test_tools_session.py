"""One run's ToolSession: the tools' reads happen once per run, the results stay the same."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ai.tests import tools_support
from ai.tests.tools_support import enable
from ai.tools import ToolCall, ToolSession, plan_tool_calls, tool_check, tool_execute
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Order, OrderStatus

shop = tools_support.shop  # the fixture, shared with the other tools tests

AI = Actor.ai("test")


def _count(queries, table):
    return sum(1 for q in queries.captured_queries if f'FROM "{table}"' in q["sql"])


def test_it_plans_checks_and_runs_a_lookup_reading_the_allow_list_and_order_once(ticket, shop):
    session = ToolSession(ticket=ticket)
    with CaptureQueriesContext(connection) as queries:
        calls = plan_tool_calls(
            ticket=ticket, ticket_type="order_status", text="Where is my order A1001?", session=session
        )
        assert calls == [ToolCall("lookup_order", {"order_number": "A1001"})]
        check = tool_check(ticket=ticket, call=calls[0], session=session)
        result = tool_execute(ticket=ticket, call=calls[0], actor=AI, session=session)
    assert check.allowed and check.kind == "read"
    assert result.status == "executed" and result.result["order"] == "A1001"
    assert _count(queries, "ai_toolpermission") == 1
    assert _count(queries, "ai_httpaction") == 1
    assert _count(queries, "helpdesk_order") == 1
    # The same call without a session returns the same result (and audits the same way).
    plain = tool_execute(ticket=ticket, call=ToolCall("lookup_order", {"order_number": "A1001"}), actor=AI)
    assert (plain.status, plain.result, plain.reason) == (result.status, result.result, result.reason)
    events = list(AuditEvent.objects.filter(kind="ai.tool_called").order_by("seq"))
    assert [e.data["result"] for e in events] == [result.result, plain.result]


def test_it_refuses_on_the_runs_check_without_checking_again(ticket, shop):
    session = ToolSession(ticket=ticket)
    call = ToolCall("lookup_order", {"order_number": "B2001"})
    check = tool_check(ticket=ticket, call=call, session=session)
    with CaptureQueriesContext(connection) as queries:
        result = tool_execute(ticket=ticket, call=call, actor=AI, shadow=True, session=session)
    assert not check.allowed
    assert (result.status, result.reason) == ("refused", "order belongs to another customer")
    assert _count(queries, "helpdesk_order") == 0 and _count(queries, "ai_toolpermission") == 0
    assert AuditEvent.objects.filter(kind="ai.tool_called").latest("seq").data["status"] == "refused"


def test_it_checks_a_write_again_when_it_runs(workspace, ticket, shop):
    """A held write is never run on the run's earlier reads: the order shipped meanwhile."""
    enable(workspace, "cancel_order")
    session = ToolSession(ticket=ticket)
    call = ToolCall("cancel_order", {"order_number": "A1003", "reason": "customer request"})
    check = tool_check(ticket=ticket, call=call, session=session)
    assert check.allowed and check.kind == "write"
    Order.objects.filter(number="A1003").update(status=OrderStatus.SHIPPED)
    result = tool_execute(ticket=ticket, call=call, actor=AI, session=session)
    assert result.status == "refused", result
    assert Order.objects.get(number="A1003").status == OrderStatus.SHIPPED


def test_it_reads_a_permission_change_in_the_next_run(workspace, ticket, shop):
    call = ToolCall("lookup_order", {"order_number": "A1001"})
    assert tool_check(ticket=ticket, call=call, session=ToolSession(ticket=ticket)).allowed
    workspace.tool_permissions.filter(tool="lookup_order").update(enabled=False)
    assert not tool_check(ticket=ticket, call=call, session=ToolSession(ticket=ticket)).allowed


def test_it_reads_a_customers_recent_orders_without_a_query_per_order(workspace, ticket, shop):
    from ai.tools.connector import DbShopConnector

    enable(workspace, "issue_refund")
    refund = tool_execute(
        ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1001", "amount": "15.00"}), actor=AI
    )
    assert refund.status == "executed", refund
    connector = DbShopConnector(ticket=ticket, actor=AI)
    with CaptureQueriesContext(connection) as queries:
        recent = connector.recent_orders(tools_support.CUSTOMER, limit=10)
    # The orders (refunded totals included), their items and the shop's status words: one statement.
    assert len(queries.captured_queries) == 1
    assert len(recent) == 6 and all(o.customer_email == tools_support.CUSTOMER for o in recent)
    # The same as reading each order on its own.
    assert recent == [connector.get_order(o.number) for o in recent]
    assert next(o for o in recent if o.number == "A1001").refunded == 15

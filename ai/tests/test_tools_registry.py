from __future__ import annotations

from decimal import Decimal

import pytest

from ai.models import ApprovalRule, HttpAction, ToolPermission
from ai.tests import tools_support
from ai.tests.tools_support import enable
from ai.tools import ToolCall, tool_check, tool_execute, tool_schemas
from ai.tools.registry import BUILTIN_TOOLS
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.api_tokens import api_token_create

shop = tools_support.shop  # the fixture, shared with the other tools tests


def test_it_gives_a_new_workspace_a_deny_by_default_allow_list_and_the_refund_rule(workspace):
    rows = {p.tool: p.enabled for p in ToolPermission.objects.filter(workspace=workspace)}
    assert set(rows) == set(BUILTIN_TOOLS)
    assert {tool for tool, on in rows.items() if on} == {"lookup_order", "escalate_to_human"}
    rule = ApprovalRule.objects.get(workspace=workspace)
    assert (rule.tool, rule.amount_over, rule.ticket_type, rule.channel) == ("issue_refund", Decimal("100.00"), "", "")


def test_it_shows_the_model_only_the_schemas_of_enabled_tools(workspace):
    names = [entry["function"]["name"] for entry in tool_schemas(workspace=workspace)]
    assert names == ["lookup_order", "escalate_to_human"]
    enable(workspace, "issue_refund")
    HttpAction.objects.create(
        workspace=workspace, name="extend_warranty", description="Extend", url_template="http://x.test/w"
    )
    names = [entry["function"]["name"] for entry in tool_schemas(workspace=workspace)]
    assert "issue_refund" in names and "extend_warranty" not in names
    enable(workspace, "extend_warranty")
    entries = {e["function"]["name"]: e for e in tool_schemas(workspace=workspace)}
    assert entries["extend_warranty"]["type"] == "function"
    assert entries["issue_refund"]["function"]["parameters"]["required"] == ["order_number", "amount"]


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        (ToolCall("drop_tables", {}), "unknown tool 'drop_tables'"),
        (ToolCall("issue_refund", {"order_number": "A1001", "amount": "10"}), "not enabled"),
        (ToolCall("lookup_order", {"order_number": "A1001", "customer_email": "x@y.test"}), "schema"),
        (ToolCall("lookup_order", {}), "'order_number' is a required property"),
        (ToolCall("lookup_order", {"order_number": "A1001; DROP"}), "does not match"),
    ],
)
def test_it_refuses_and_audits_calls_outside_the_allow_list_or_schema(workspace, ticket, shop, call, reason):
    check = tool_check(ticket=ticket, call=call)
    assert not check.allowed and reason in check.reason
    result = tool_execute(ticket=ticket, call=call, actor=Actor.ai("test"))
    assert result.status == "refused" and reason in result.reason
    event = AuditEvent.objects.filter(kind="ai.tool_called").latest("seq")
    assert event.data["status"] == "refused" and reason in event.data["reason"] and event.data["tool"] == call.tool


def test_it_refuses_amounts_above_the_tools_maximum(workspace, ticket, shop):
    enable(workspace, "issue_refund", max_amount="30.00")
    check = tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1001", "amount": 35}))
    assert not check.allowed
    assert check.reason == "amount 35.00 is above the tool's maximum of 30.00"
    assert tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1001", "amount": 30})).allowed


def test_it_lists_the_enumerated_tools_at_the_api_for_the_tokens_workspace(client, workspace, manager, other_workspace):
    enable(workspace, "issue_refund", max_amount="250.00")
    _, key = api_token_create(workspace=workspace, user=manager, name="ci", actor=Actor.system("test"))
    response = client.get("/api/v1/tools/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    body = response.json()
    assert body["workspace"] == "acme"
    tools = {t["name"]: t for t in body["tools"]}
    assert set(tools) == set(BUILTIN_TOOLS)
    refund = tools["issue_refund"]
    assert refund["enabled"] is True and refund["max_amount"] == "250.00" and refund["kind"] == "write"
    assert refund["amount_arg"] == "amount" and refund["schema"]["type"] == "object"
    assert [r["amount_over"] for r in refund["approval_rules"]] == ["100.00"]
    assert tools["send_password_reset"]["enabled"] is False
    assert tools["lookup_order"]["approval_rules"] == []


def test_it_refuses_the_tools_api_without_a_token(client, workspace):
    assert client.get("/api/v1/tools/").status_code in (401, 403)

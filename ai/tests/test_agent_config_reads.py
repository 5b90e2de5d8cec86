"""An Agent run reads its workspace's configuration in two statements (at the start, and right
before the decision), yet an admin's change made while it runs still applies to its decision."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import ai.agent.pipeline as pipeline
from ai.agent.snapshot import read_rows
from ai.calibration import maps_newest_first
from ai.controls import agent_pause
from ai.models import (
    AgentPause,
    AgentRun,
    AISettings,
    CalibrationMap,
    ConfidenceRule,
    HttpAction,
    RunStatus,
    ToolPermission,
)
from ai.tests.agent_support import first_message, new_ticket
from ai.tools.session import http_actions, tool_permissions
from audit.services import Actor
from helpdesk.models import AuthorKind
from helpdesk.services import ticket_add_customer_message

pytest_plugins = ["ai.tests.agent_support"]

ORDER_Q = "Where is my order A1001? It has not arrived."


def _same(a, b):
    for f in type(a)._meta.concrete_fields:
        x, y = getattr(a, f.attname), getattr(b, f.attname)
        assert (type(x), x, str(x)) == (type(y), y, str(y)), f.name


def test_it_builds_rows_exactly_as_the_orm_reads_them(workspace):
    ToolPermission.objects.update_or_create(
        workspace=workspace, tool="issue_refund", defaults={"enabled": True, "max_amount": Decimal("50.00")}
    )
    ToolPermission.objects.update_or_create(workspace=workspace, tool="lookup_order", defaults={"max_amount": None})
    HttpAction.objects.create(
        workspace=workspace,
        name="b-gift",
        description="Send a gift card",
        url_template="http://shop.test/gift",
        args_schema={"type": "object", "properties": {"amount": {"type": "number", "maximum": 12.5}}},
        timeout_seconds=2.5,
    )
    HttpAction.objects.create(workspace=workspace, name="a-note", description="Note", url_template="http://x.test/")
    CalibrationMap.objects.create(workspace=workspace, points=[[0.1, 0.2], [0.9, 1]], ece=0.125, samples=30)
    newest = CalibrationMap.objects.create(workspace=workspace, points=[[0.33, 0.4]], ece=0.05, samples=40)
    agent_pause(workspace=workspace, channel="chat", actor=Actor.system("test"), reason="storm")
    AISettings.objects.create(workspace=workspace, time_budget_seconds=12.75, default_threshold=0.9)
    rows, values = read_rows(
        {
            "permissions": tool_permissions(workspace.pk),
            "actions": http_actions(workspace.pk),
            "maps": maps_newest_first(workspace.pk)[:1],
            "pauses": AgentPause.objects.filter(workspace=workspace),
            "settings": AISettings.objects.filter(workspace=workspace),
            "none": AISettings.objects.filter(workspace_id=-1),
        },
        {"answer": ("SELECT %s + 1", [41])},
    )
    assert values == {"answer": 42}
    assert rows["none"] == []
    permissions = {p.tool: p for p in rows["permissions"]}
    assert [p.tool for p in rows["permissions"]] == sorted(permissions)
    assert str(permissions["issue_refund"].max_amount) == "50.00" and permissions["lookup_order"].max_amount is None
    assert [a.name for a in rows["actions"]] == ["a-note", "b-gift"]
    assert [m.pk for m in rows["maps"]] == [newest.pk]
    for name, model in [
        ("permissions", ToolPermission),
        ("actions", HttpAction),
        ("maps", CalibrationMap),
        ("pauses", AgentPause),
        ("settings", AISettings),
    ]:
        for row in rows[name]:
            _same(row, model._default_manager.get(pk=row.pk))
            assert not row._state.adding  # an instance like the ORM's: saving it updates the row
    settings_row = rows["settings"][0]
    settings_row.default_threshold = 0.5
    settings_row.save(update_fields=["default_threshold"])
    assert AISettings.objects.get(workspace=workspace).default_threshold == 0.5


def _sql_of_run(ticket):
    with CaptureQueriesContext(connection) as queries:
        run = pipeline.agent_run_for_message(message_id=first_message(ticket).pk)
    return run, [q["sql"] for q in queries.captured_queries]


def test_it_reads_the_run_configuration_in_two_statements(
    workspace, helpcenter, orders, agent_mode, django_capture_on_commit_callbacks
):
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    with django_capture_on_commit_callbacks(execute=False):
        ticket = new_ticket(workspace, ORDER_Q)
    run, sql = _sql_of_run(ticket)
    assert (run.status, run.decision) == (RunStatus.DONE, "autosend"), run.reason
    assert run.rule["source"] == "confidence_rule"
    tables = ["ai_aisettings", "ai_toolpermission", "ai_httpaction"]
    start = [s for s in sql if all(f'"{t}"' in s for t in tables)]
    assert len(start) == 1 and sum('"ai_toolpermission"' in s for s in sql) == 1
    tables = ["ai_calibrationmap", "ai_confidencerule", "ai_approvalrule", "ai_agentpause", "ai_aisettings"]
    decision = [s for s in sql if all(f'"{t}"' in s for t in tables)]
    assert len(decision) == 1
    for table in tables[:4]:
        assert sum(f'"{table}"' in s for s in sql) == 1, table
    assert sum('"ai_aisettings"' in s for s in sql) == 2


def after_tools(monkeypatch, change):
    """Make `change` (an admin's or a customer's) while the run is between its tools and its decision."""
    original = pipeline._run_tools

    def run_tools_then_change(ctx, calls):
        result = original(ctx, calls)
        change()
        return result

    monkeypatch.setattr(pipeline, "_run_tools", run_tools_then_change)


def test_a_pause_made_while_the_run_works_stops_its_send(workspace, helpcenter, orders, agent_mode, monkeypatch):
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    ticket = new_ticket(workspace, ORDER_Q)
    after_tools(
        monkeypatch,
        lambda: agent_pause(workspace=workspace, channel="email", actor=Actor.system("admin"), reason="checking a bug"),
    )
    run, _ = _sql_of_run(ticket)
    assert (run.status, run.decision) == (RunStatus.DONE, "draft")
    assert run.reason.startswith("agent paused on Email by ") and run.rule["paused"] is True
    assert not ticket.messages.filter(author_kind=AuthorKind.AI).exists()


def test_a_threshold_raised_while_the_run_works_applies(workspace, helpcenter, orders, agent_mode, monkeypatch):
    rule = ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    ticket = new_ticket(workspace, ORDER_Q)
    after_tools(monkeypatch, lambda: ConfidenceRule.objects.filter(pk=rule.pk).update(autosend_threshold=0.999))
    run, _ = _sql_of_run(ticket)
    assert (run.decision, run.rule["threshold"]) == ("draft", 0.999)


def test_a_message_arriving_while_the_run_works_supersedes_it(workspace, helpcenter, orders, agent_mode, monkeypatch):
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    ticket = new_ticket(workspace, ORDER_Q)
    after_tools(
        monkeypatch, lambda: ticket_add_customer_message(ticket=ticket, body="Actually, I found it at my neighbour's.")
    )
    run, _ = _sql_of_run(ticket)
    assert (run.status, run.reason) == (RunStatus.SUPERSEDED, "superseded by a newer message")
    assert not ticket.messages.filter(author_kind=AuthorKind.AI).exists()


def test_a_run_working_elsewhere_is_left_alone_unless_a_newer_message_came(workspace, helpcenter, agent_mode):
    ticket = new_ticket(workspace, ORDER_Q)
    message = first_message(ticket)
    run = AgentRun.objects.create(
        workspace=workspace, ticket=ticket, trigger_message=message, kind="agent", status=RunStatus.RUNNING
    )
    again = pipeline.agent_run_for_message(message_id=message.pk)
    assert again is not None and (again.pk, again.status, again.decision) == (run.pk, RunStatus.RUNNING, "")
    # Long past its budget: still left alone here (the sweeper fails it, ai/agent/sweep.py).
    AgentRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    again = pipeline.agent_run_for_message(message_id=message.pk)
    assert again is not None and (again.status, again.decision) == (RunStatus.RUNNING, "")
    # A running run whose question was overtaken by a newer message is superseded.
    ticket_add_customer_message(ticket=ticket, body="Also: can I change the address?")
    AgentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, reply_message=None, decision="")
    again = pipeline.agent_run_for_message(message_id=message.pk)
    assert again is not None
    assert (again.status, again.reason) == (RunStatus.SUPERSEDED, "superseded by a newer message")


def test_an_order_and_its_items_are_read_in_one_statement(workspace, orders):
    from ai.tools.connector import DbShopConnector
    from helpdesk.models import Order

    ticket = new_ticket(workspace, ORDER_Q)
    connector = DbShopConnector(ticket=ticket, actor=Actor.system("test"))
    with CaptureQueriesContext(connection) as queries:
        info = connector.get_order(" a1001 ")
    assert info is not None and info.number == "A1001"
    expected = Order.objects.get(workspace=workspace, number="A1001")
    assert info.total == expected.total and str(info.total) == str(expected.total)
    assert info.placed_at == expected.placed_at
    assert [(i.sku, i.qty, str(i.price), i.final_sale) for i in info.items] == [
        (i.sku, i.qty, str(i.price), i.final_sale) for i in expected.items.order_by("pk")
    ]
    assert info.items
    # The order (its refunded total included) with its items.
    assert len(queries.captured_queries) == 1
    assert connector.get_order("Z999") is None

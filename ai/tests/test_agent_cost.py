"""What one Agent run costs: database round trips and model inferences (a regression guard)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from ai.agent.pipeline import agent_run_for_message
from ai.models import ConfidenceRule, RunStatus
from ai.providers.local import load_model
from ai.tests.agent_support import first_message, new_ticket
from audit.models import AuditEvent
from audit.services import audit_verify_workspace

pytest_plugins = ["ai.tests.agent_support"]


def _run(ticket):
    with CaptureQueriesContext(connection) as queries:
        run = agent_run_for_message(message_id=first_message(ticket).pk)
    return run, [q["sql"] for q in queries.captured_queries]


def test_it_answers_an_order_question_in_few_round_trips(
    workspace, helpcenter, orders, agent_mode, django_capture_on_commit_callbacks
):
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    with django_capture_on_commit_callbacks(execute=False):
        ticket = new_ticket(workspace, "Where is my order A1001? It has not arrived.")
    with django_capture_on_commit_callbacks(execute=True):
        run, sql = _run(ticket)
    assert (run.status, run.decision) == (RunStatus.DONE, "autosend"), run.reason
    [lookup] = run.tool_calls
    assert (lookup["tool"], lookup["status"], lookup["result"]["order"]) == ("lookup_order", "executed", "A1001")
    # The allow-list, the HTTP actions and the order are read once for planning, check and run.
    assert sum('FROM "ai_toolpermission"' in s for s in sql) == 1
    assert sum('FROM "ai_httpaction"' in s for s in sql) == 1
    assert sum('FROM "helpdesk_order"' in s for s in sql) == 1
    # A transaction appends its audit rows at its end: one chain lock and one INSERT each.
    events = AuditEvent.objects.filter(ticket=ticket, seq__gt=0).count()
    locks = sum("pg_advisory_xact_lock" in s for s in sql)
    assert events > 0 and locks <= 5, (locks, events)  # one per transaction of the run, not one per row
    assert len(sql) <= 85, len(sql)  # batched audit rows, one tool session, each ticket read once
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


def test_it_embeds_the_customers_text_once_per_run(workspace, helpcenter, agent_mode, monkeypatch):
    ticket = new_ticket(workspace, "Can I wash the rain jacket in the machine at 60 degrees?")
    model = load_model()
    original = model.encode
    seen: list[str] = []

    def counting(texts):
        seen.extend(texts)
        return original(texts)

    monkeypatch.setattr(model, "encode", counting)
    run, _ = _run(ticket)
    assert run.status == RunStatus.DONE, run.reason
    assert seen.count(run.redacted_input) == 1, seen

"""The OpenAI-compatible chat path over real HTTP (the real `openai` client, a local server)."""

from __future__ import annotations

import json

import pytest

from ai.models import AISettings, ConfidenceRule, RunStatus
from ai.tests.agent_support import ai_replies, new_ticket, run_agent
from ai.tests.chat_server import FakeChatServer, completion, reply_json
from audit.models import AuditEvent

pytest_plugins = ["ai.tests.agent_support"]

PASSWORD_Q = "How long is the password reset link valid?"
ANSWER = 'Use the "Forgot password" link on the sign-in page to get a reset link by email. [1]'


@pytest.fixture
def chat(workspace):
    with FakeChatServer() as server:
        AISettings.objects.create(
            workspace=workspace,
            chat_provider="openai",
            chat_base_url=server.base_url,
            chat_model="test-model",
            time_budget_seconds=5.0,
        )
        yield server


def test_it_drafts_over_http_with_json_output(workspace, helpcenter, agent_mode, chat):
    ConfidenceRule.objects.create(workspace=workspace, autosend_threshold=0.5)
    chat.script = [reply_json(f"Hi Carla,\n\n{ANSWER}\n\nBest regards,\nAcme", [1], 0.9)]
    ticket = new_ticket(workspace, PASSWORD_Q)
    run = run_agent(ticket)
    assert (run.provider, run.model, run.status) == ("openai", "test-model", RunStatus.DONE)
    assert run.citations == [
        {"n": 1, "passage": run.passages[0]["passage"], "title": "Signing in", "url": run.passages[0]["url"]}
    ]
    assert run.confidence_parts["grounded"] == 1.0 and run.confidence_parts["unsupported"] == []
    assert run.decision == "autosend" and ai_replies(ticket)[0].body.startswith("Hi Carla")
    [request] = chat.requests
    assert request["model"] == "test-model" and request["response_format"]["type"] == "json_schema"
    assert request["messages"][0]["role"] == "system" and "ONLY" in request["messages"][0]["content"]
    assert PASSWORD_Q in request["messages"][1]["content"] and "Forgot password" in request["messages"][1]["content"]


def test_with_nothing_planned_it_runs_the_models_tool_call_then_drafts(workspace, helpcenter, orders, agent_mode, chat):
    chat.script = [
        completion(tool_calls=[{"name": "lookup_order", "args": {"order_number": "A1001"}}]),
        reply_json("Your order A1001 shipped with UPS, tracking number 1Z999AA10123456784.", [], 0.9),
    ]
    ticket = new_ticket(workspace, "Could you look into A1001 for me please?")
    run = run_agent(ticket)
    assert run.status == RunStatus.DONE, run.reason
    first, second = chat.requests
    offered = sorted(t["function"]["name"] for t in first["tools"])
    assert offered == ["escalate_to_human", "lookup_order"]  # only the enabled tools are shown
    assert "tools" not in second
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_0"
    assert json.loads(tool_message["content"])["result"]["carrier"] == "UPS"
    [call] = run.tool_calls
    assert (call["tool"], call["status"]) == ("lookup_order", "executed")
    assert run.draft.startswith("Your order A1001 shipped with UPS")
    assert AuditEvent.objects.filter(ticket=ticket, kind="ai.tool_called", data__tool="lookup_order").exists()


def test_a_call_to_a_tool_not_allowed_is_refused_and_audited(workspace, helpcenter, orders, agent_mode, chat):
    chat.script = [
        completion(tool_calls=[{"name": "issue_refund", "args": {"order_number": "A1001", "amount": "950.00"}}]),
        reply_json("I could not do that; a colleague will help.", [], 0.2),
    ]
    # Nothing the planner understood, so the model plans: it asks for a tool the workspace has not enabled.
    ticket = new_ticket(workspace, "Could you look into A1001 for me please?")
    run = run_agent(ticket)
    [call] = run.tool_calls
    assert call["status"] == "refused"
    assert AuditEvent.objects.filter(ticket=ticket, kind="ai.tool_called", data__status="refused").exists()
    assert run.decision != "autosend" and ai_replies(ticket) == []


@pytest.mark.parametrize(
    ("scripted", "reason"),
    [
        (completion("Sure! Here is your answer, not JSON."), "provider failure: malformed model output"),
        ("garbage", "provider failure: malformed response"),
        (completion(None, refusal="I can't help with that."), "provider failure: model refused"),
        (("status", 500), "provider failure: HTTP 500"),
        (("sleep", 3.0), "provider failure: timed out"),
    ],
)
def test_provider_failures_escalate_with_the_reason(workspace, helpcenter, agent_mode, chat, scripted, reason):
    AISettings.objects.filter(workspace=workspace).update(time_budget_seconds=1.0)
    chat.script = [scripted]
    ticket = new_ticket(workspace, PASSWORD_Q)
    run = run_agent(ticket)
    assert (run.status, run.decision, run.reason) == (RunStatus.FAILED, "escalate", reason)
    ticket.refresh_from_db()
    assert (ticket.ai_decision, ticket.ai_reason) == ("escalate", reason)
    assert ai_replies(ticket) == []


def test_the_model_never_receives_a_card_number(workspace, helpcenter, agent_mode, chat):
    chat.script = [reply_json("A colleague will take it from here.", [], 0.5)]
    card = "4111 1111 1111 1111"
    ticket = new_ticket(workspace, f"Please charge my card {card} again", subject=f"card {card}")
    run = run_agent(ticket)
    assert chat.raw, "the provider was called"
    for raw in chat.raw:
        assert card not in raw and card.replace(" ", "") not in raw
    assert "[REDACTED CARD]" in chat.raw[0]
    assert run.decision == "escalate" and run.ticket_type == "sensitive_data"


def test_a_number_no_source_states_keeps_a_model_reply_from_being_sent(workspace, helpcenter, agent_mode, chat):
    ConfidenceRule.objects.create(workspace=workspace, autosend_threshold=0.1)
    question = "How long is the password reset link valid?"
    chat.script = [reply_json("The reset link is valid for 48 hours. [1]", [1], 0.99)]
    invented = run_agent(new_ticket(workspace, question))
    assert invented.decision == "draft" and "48" in invented.reason
    assert invented.confidence_parts["unsupported"] == ["48"]
    chat.script = [reply_json("The reset link is valid for 24 hours. [1]", [1], 0.99)]
    ticket = new_ticket(workspace, question)
    stated = run_agent(ticket)
    assert stated.decision == "autosend", stated.reason
    assert stated.citations[0]["title"] == "Signing in"


def test_planned_calls_reach_the_model_with_their_results_in_one_request(workspace, helpcenter, orders, chat):
    chat.script = [reply_json("Your order A1001 shipped with UPS; tracking 1Z999AA10123456784.", [], 0.9)]
    run = run_agent(new_ticket(workspace, "Where is my order A1001?"))
    [request] = chat.requests
    assert request["response_format"]["type"] == "json_schema"
    assert "track" in request["messages"][1]["content"]  # the asks, as planned
    calls, result = request["messages"][2], request["messages"][3]
    assert calls["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert result["role"] == "tool" and json.loads(result["content"])["result"]["carrier"] == "UPS"
    assert run.confidence_parts["unsupported"] == []


def test_the_model_reads_each_ask_with_its_details_and_planned_tool(workspace, helpcenter, orders, chat):
    chat.script = [reply_json("Your order A1001 shipped with UPS; tracking 1Z999AA10123456784.", [], 0.9)]
    run_agent(new_ticket(workspace, "Where is my order A1001?"))
    [request] = chat.requests
    assert '- track {"order": "A1001"} -> tool lookup_order' in request["messages"][1]["content"]

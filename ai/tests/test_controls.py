from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import RequestFactory

from ai.context_processors import agent_controls
from ai.controls import agent_pause, agent_paused_reason, agent_resume
from ai.models import AgentPause, ToolPermission
from ai.tests.agent_support import ai_replies, new_ticket, run_agent
from audit.models import AuditEvent
from audit.services import Actor
from conftest import PASSWORD

pytest_plugins = ["ai.tests.agent_support"]

PASSWORD_Q = "I forgot my password and can't log in"


def test_it_pauses_and_resumes_with_who_and_why_in_the_audit_log(workspace, manager):
    actor = Actor.for_user(manager)
    pause = agent_pause(workspace=workspace, actor=actor, reason="wrong refund answers")
    assert agent_pause(workspace=workspace, actor=actor, reason="double click") == pause  # one active pause
    assert (pause.paused_by, pause.paused_by_user_id, pause.channel) == (manager.email, manager.pk, "")
    reason = agent_paused_reason(workspace=workspace, channel="email")
    assert reason is not None and "wrong refund answers" in reason and manager.email in reason
    [event] = AuditEvent.objects.filter(workspace=workspace, kind="agent.paused")
    assert event.actor == manager.email and event.data == {
        "pause": pause.pk,
        "channel": None,
        "reason": "wrong refund answers",
    }

    resumed = agent_resume(workspace=workspace, actor=actor, reason="fixed the article")
    assert resumed is not None and resumed.resumed_by == manager.email
    assert agent_paused_reason(workspace=workspace, channel="email") is None
    assert agent_resume(workspace=workspace, actor=actor) is None
    [event] = AuditEvent.objects.filter(workspace=workspace, kind="agent.resumed")
    assert event.data["reason"] == "fixed the article"


def test_it_pauses_one_channel_only(workspace, other_workspace, manager):
    agent_pause(workspace=workspace, channel="chat", actor=Actor.for_user(manager), reason="chat loops")
    assert agent_paused_reason(workspace=workspace, channel="chat") is not None
    assert agent_paused_reason(workspace=workspace, channel="email") is None
    assert agent_paused_reason(workspace=other_workspace, channel="chat") is None


def test_it_refuses_a_pause_without_a_reason_or_on_an_unknown_channel(workspace, manager):
    with pytest.raises(ValidationError):
        agent_pause(workspace=workspace, actor=Actor.for_user(manager), reason="  ")
    with pytest.raises(ValidationError):
        agent_pause(workspace=workspace, channel="fax", actor=Actor.for_user(manager), reason="x")
    assert not AgentPause.objects.exists()


def test_managers_flip_it_in_one_click_from_any_page(client, workspace, manager):
    assert client.login(username=manager.email, password=PASSWORD)
    response = client.post(
        "/reports/kill-switch/", {"action": "pause", "channel": "", "reason": "bad day", "next": "/inbox/?status=open"}
    )
    assert response.status_code == 302 and response["Location"] == "/inbox/?status=open"
    assert agent_paused_reason(workspace=workspace, channel="web") is not None
    response = client.post("/reports/kill-switch/", {"action": "resume", "channel": "", "next": "https://evil.test/"})
    assert response["Location"] == "/inbox/"  # never an open redirect
    assert agent_paused_reason(workspace=workspace, channel="web") is None
    assert AuditEvent.objects.filter(workspace=workspace, kind__in=["agent.paused", "agent.resumed"]).count() == 2


def _rendered(user, workspace):
    request = RequestFactory().get("/inbox/")
    request.user = user
    request.session = {}  # type: ignore[assignment]
    # The banner under the top bar and the menu in it.
    return "".join(
        render_to_string("ai/_kill_switch.html", {**agent_controls(request), "part": part}, request=request)
        for part in ("banner", "menu")
    )


def test_the_banner_shows_on_every_page_while_paused_and_only_managers_get_the_form(workspace, manager, agent):
    assert "AI paused" not in _rendered(agent, workspace)
    agent_pause(workspace=workspace, channel="chat", actor=Actor.for_user(manager), reason="loops")
    html = _rendered(agent, workspace)
    assert "AI paused" in html and "Chat: loops" in html and "<form" not in html
    html = _rendered(manager, workspace)
    assert 'action="/reports/kill-switch/"' in html and "Resume Chat" in html


# ----------------------------------------------------------------- the Agent pipeline


@pytest.fixture
def reset_allowed(workspace):
    # A password reset is a write tool: enabled, it runs when (and only when) the Agent autosends.
    ToolPermission.objects.filter(workspace=workspace, tool="send_password_reset").update(enabled=True)


def _write_calls(run, status):
    return [c for c in run.tool_calls if c.get("kind") == "write" and c.get("status") == status]


def test_the_agent_autosends_and_runs_write_tools_when_not_paused(workspace, helpcenter, agent_mode, reset_allowed):
    run = run_agent(new_ticket(workspace, PASSWORD_Q))
    assert run.decision == "autosend", run.reason
    assert _write_calls(run, "executed")


def test_a_pause_stops_autosend_and_write_actions_but_keeps_the_draft(
    workspace, manager, helpcenter, agent_mode, reset_allowed
):
    agent_pause(workspace=workspace, actor=Actor.for_user(manager), reason="incident 42")
    ticket = new_ticket(workspace, PASSWORD_Q)
    run = run_agent(ticket)
    assert run.decision == "draft" and "incident 42" in run.reason
    assert ai_replies(ticket) == [] and run.draft  # a draft for a human, nothing sent
    assert not _write_calls(run, "executed") and _write_calls(run, "simulated")
    assert (
        not AuditEvent.objects.filter(ticket=ticket, kind="ai.tool_called", data__status="executed")
        .exclude(data__tool="lookup_order")
        .exists()
    )

    agent_resume(workspace=workspace, actor=Actor.for_user(manager))
    later = new_ticket(workspace, PASSWORD_Q, email="dan@customer.test")
    run = run_agent(later)
    assert run.decision == "autosend" and len(ai_replies(later)) == 1 and _write_calls(run, "executed")


def test_a_channel_pause_leaves_other_channels_running(workspace, manager, helpcenter, agent_mode, reset_allowed):
    agent_pause(workspace=workspace, channel="chat", actor=Actor.for_user(manager), reason="chat only")
    assert run_agent(new_ticket(workspace, PASSWORD_Q, channel="chat")).decision == "draft"
    assert run_agent(new_ticket(workspace, PASSWORD_Q, channel="email", email="e@customer.test")).decision == "autosend"

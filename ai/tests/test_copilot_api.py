from __future__ import annotations

from django.urls import reverse

from ai.models import AgentRun, DraftFeedback
from ai.tests.agent_support import new_ticket
from audit.models import AuditEvent
from audit.services import Actor
from conftest import PASSWORD
from helpdesk.services import ticket_reply

pytest_plugins = ["ai.tests.agent_support"]


def login(client, user):
    assert client.login(username=user.email, password=PASSWORD)


def test_it_returns_summary_draft_and_next_steps(client, workspace, helpcenter, agent):
    ticket = new_ticket(workspace, "I forgot my password and can't log in. Can you help?")
    ticket_reply(ticket=ticket, body="Looking into it now.", actor=Actor.for_user(agent))
    login(client, agent)
    url = reverse("api-ticket-copilot", args=[ticket.pk])
    response = client.get(url)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["summary"]["who"].startswith("Carla Customer <carla@customer.test> via email")
    assert "forgot my password" in data["summary"]["what"]
    assert data["summary"]["tried"] == ["Agent reply: Looking into it now."]
    assert data["draft"]["text"].startswith("Hi Carla") and data["draft"]["citations"][0]["title"] == "Signing in"
    assert 0 <= data["draft"]["confidence"] <= 1 and data["draft"]["decision"] == "draft"
    assert data["next_steps"]["articles"][0]["title"] == "Signing in" and data["next_steps"]["escalate"] is False
    run = AgentRun.objects.get(pk=data["run"])
    assert run.kind == "copilot" and ticket.messages.filter(author_kind="ai").count() == 0
    # A second GET shows the same suggestions; POST regenerates them.
    assert client.get(url).json()["run"] == run.pk
    again = client.post(url)
    assert again.status_code == 201 and again.json()["run"] != run.pk
    kinds = set(AuditEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert {"ai.copilot_summary", "ai.copilot_next_steps", "ai.run_started", "ai.drafted"} <= kinds


def test_feedback_is_recorded_and_audited(client, workspace, helpcenter, agent):
    ticket = new_ticket(workspace, "How do I reset my password?")
    login(client, agent)
    run_id = client.post(reverse("api-ticket-copilot", args=[ticket.pk])).json()["run"]
    url = reverse("api-ticket-copilot-feedback", args=[ticket.pk])
    response = client.post(url, {"run": run_id, "verdict": "edited", "reason": "tone"}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert DraftFeedback.objects.get(run_id=run_id).verdict == "edited"
    assert AuditEvent.objects.filter(kind="feedback.recorded", data__run=run_id, data__verdict="edited").exists()
    bad = client.post(url, {"run": run_id, "verdict": "loved_it"}, content_type="application/json")
    assert bad.status_code == 400


def test_an_outsider_gets_404(client, workspace, outsider):
    ticket = new_ticket(workspace, "Where is my order?")
    login(client, outsider)
    assert client.get(reverse("api-ticket-copilot", args=[ticket.pk])).status_code == 404
    assert client.post(reverse("api-ticket-copilot", args=[ticket.pk])).status_code == 404
    response = client.post(
        reverse("api-ticket-copilot-feedback", args=[ticket.pk]),
        {"run": 1, "verdict": "edited"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert not AgentRun.objects.exists()

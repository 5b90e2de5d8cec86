"""The Copilot sidebar through HTTP: parts, cache per message, feedback, tools through the gates, polling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ai.confidence_words import confidence_reasons
from ai.models import ActionRequest, ActionStatus, AgentRun, ConfidenceRule, DraftFeedback, ToolPermission
from ai.tests.agent_support import helpcenter, new_ticket, run_agent  # noqa: F401 (fixture)
from ai.views_copilot import confidence_meter
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.citations import strip_markers
from helpdesk.models import Message, MessageKind, TicketStatus
from helpdesk.services import ticket_add_customer_message
from helpdesk.shop import orders_load

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name, ticket):
    return reverse(f"helpdesk:{name}", args=[ticket.pk])


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def question(workspace, helpcenter):  # noqa: F811
    return new_ticket(workspace, "How long does standard delivery take? I ordered a jacket yesterday.")


@pytest.fixture
def refund_ticket(workspace, helpcenter):  # noqa: F811
    delivered = datetime.now(UTC) - timedelta(days=3)
    orders_load(
        workspace=workspace,
        data={
            "orders": [
                {
                    "number": "A2002",
                    "customer_email": "carla@customer.test",
                    "status": "delivered",
                    "placed_at": (delivered - timedelta(days=4)).isoformat(),
                    "shipped_at": (delivered - timedelta(days=2)).isoformat(),
                    "delivered_at": delivered.isoformat(),
                    "carrier": "UPS",
                    "tracking_number": "1Z999",
                    "currency": "USD",
                    "total": "180.00",
                    "items": [
                        {"sku": "BT-1", "name": "Boots", "size": "42", "qty": 1, "price": "180.00", "final_sale": False}
                    ],
                }
            ]
        },
        actor=Actor.system("test"),
    )
    ToolPermission.objects.filter(workspace=workspace, tool="issue_refund").update(enabled=True)
    return new_ticket(
        workspace, "The boots from order A2002 do not fit. I want a refund please.", subject="Refund please"
    )


def sidebar(client, ticket):
    response = client.get(url("ticket_copilot", ticket), **HTMX)
    assert response.status_code == 200
    return response


def test_it_renders_summary_draft_confidence_citations_and_next_steps(agent_client, question):
    body = sidebar(agent_client, question).content.decode()
    run = AgentRun.objects.get(ticket=question)
    assert run.kind == "copilot"
    assert run.draft
    assert run.confidence is not None
    assert body.lstrip().startswith('<div id="copilot-body"')  # the partial, not the page
    for text in ("Summary", "Draft reply", "Next steps", "Carla Customer", "Asks:", "Insert into reply"):
        assert text in body
    assert 'role="meter"' in body
    assert f'aria-valuenow="{round(run.confidence * 100)}"' in body
    citation = run.citations[0]
    assert f'href="{citation["url"]}"' in body
    assert citation["title"] in body
    assert f"/audit/tickets/{question.pk}/#run-{run.pk}" in body or f"#run-{run.pk}" in body


def test_it_serves_a_full_page_without_javascript(agent_client, question):
    response = agent_client.get(url("ticket_copilot", question))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" in body
    assert "Draft reply" in body
    ticket_page = agent_client.get(url("ticket", question)).content.decode()
    # The sidebar loads over HTMX; its shell keeps a plain link to the same parts.
    assert f'hx-get="{url("ticket_copilot", question)}" hx-trigger="load"' in ticket_page
    assert f'href="{url("ticket_copilot", question)}"' in ticket_page


def test_it_colours_the_meter_from_the_most_specific_threshold(agent_client, workspace, question):
    assert [confidence_meter(v, 0.85).band for v in (0.5, 0.7, 0.85, 0.95)] == ["red", "amber", "green", "green"]
    assert confidence_reasons({"covered": 1.0, "question": 0.3})[0] == {
        "key": "covered",
        "label": "Asks",
        "words": "every ask answered or done",
        "value": "1.00",
    }
    sidebar(agent_client, question)
    run = AgentRun.objects.get(ticket=question)
    assert run.confidence is not None
    ConfidenceRule.objects.create(workspace=workspace, channel="email", ticket_type="", autosend_threshold=0.6)
    ConfidenceRule.objects.create(
        workspace=workspace, channel="email", ticket_type=run.ticket_type, autosend_threshold=0.33
    )
    body = sidebar(agent_client, question).content.decode()
    assert "<strong>33%</strong>" in body
    expected = "green" if run.confidence >= 0.33 else "amber" if run.confidence >= 0.13 else "red"
    assert f"cp-band-{expected}" in body


def test_it_reuses_the_run_of_the_latest_message_until_regenerated(agent_client, question):
    sidebar(agent_client, question)
    sidebar(agent_client, question)
    assert AgentRun.objects.filter(ticket=question).count() == 1

    response = agent_client.post(url("ticket_copilot_regenerate", question), **HTMX)
    assert response.status_code == 200
    assert "A fresh draft is ready." in response.content.decode()
    runs = list(AgentRun.objects.filter(ticket=question).order_by("pk"))
    assert len(runs) == 2
    assert f'data-run="{runs[1].pk}"' in response.content.decode()
    sidebar(agent_client, question)
    assert AgentRun.objects.filter(ticket=question).count() == 2

    # A new customer message is a new cache key: one more run, then cached again.
    ticket_add_customer_message(ticket=question, body="Also, can I change the delivery address?")
    sidebar(agent_client, question)
    sidebar(agent_client, question)
    assert AgentRun.objects.filter(ticket=question).count() == 3


def test_it_reuses_the_agents_run_instead_of_calling_the_model_again(agent_client, question):
    agent_run = run_agent(question)
    body = sidebar(agent_client, question).content.decode()
    assert AgentRun.objects.filter(ticket=question).count() == 1
    assert f'data-run="{agent_run.pk}"' in body
    assert "from the AI" in body


def test_it_records_a_discard_with_its_reason(agent_client, agent, question):
    sidebar(agent_client, question)
    run = AgentRun.objects.get(ticket=question)
    response = agent_client.post(
        url("ticket_copilot_discard", question), {"run": run.pk, "reason": "made_things_up"}, **HTMX
    )
    assert response.status_code == 200
    assert "Discarded: made things up" in response.content.decode()
    feedback = DraftFeedback.objects.get(run=run)
    assert (feedback.verdict, feedback.reason, feedback.user) == ("discarded", "made_things_up", agent)
    event = AuditEvent.objects.get(ticket=question, kind="feedback.recorded")
    assert event.data == {"run": run.pk, "verdict": "discarded", "reason": "made_things_up"}
    assert event.actor == agent.email

    # A reason outside the list is refused and records nothing.
    response = agent_client.post(url("ticket_copilot_discard", question), {"run": run.pk, "reason": "meh"}, **HTMX)
    assert response.status_code == 400
    assert DraftFeedback.objects.filter(run=run).count() == 1


def test_it_sends_the_draft_as_is(agent_client, agent, question):
    sidebar(agent_client, question)
    run = AgentRun.objects.get(ticket=question)
    response = agent_client.post(url("ticket_copilot_send", question), {"run": run.pk}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<ol id="thread"')
    assert 'id="copilot-body"' in body  # the sidebar reloads out of band
    reply = Message.objects.get(ticket=question, kind=MessageKind.REPLY)
    # The customer reads the draft without its [n] markers, the quoted sources linked at the end.
    assert "[1]" in run.draft and "[1]" not in reply.body
    assert reply.body.startswith(strip_markers(run.draft).strip())
    assert reply.body.endswith(f"Sources:\n- {run.citations[0]['title']}: {run.citations[0]['url']}")
    assert (reply.author_kind, reply.author_user) == ("agent", agent)
    assert DraftFeedback.objects.get(run=run).verdict == "sent_unchanged"
    replied = AuditEvent.objects.get(ticket=question, kind="message.replied")
    assert replied.data["run"] == run.pk
    assert replied.data["feedback"] == "sent_unchanged"
    assert AuditEvent.objects.filter(ticket=question, kind="feedback.recorded", data__verdict="sent_unchanged").exists()


@pytest.mark.parametrize(("edit", "verdict"), [(False, "sent_unchanged"), (True, "edited")])
def test_it_labels_an_inserted_draft_by_what_was_sent(agent_client, question, edit, verdict):
    sidebar(agent_client, question)
    run = AgentRun.objects.get(ticket=question)
    # The no-JS Insert link pre-fills the composer and carries the run.
    page = agent_client.get(url("ticket", question), {"insert": run.pk})
    form = page.context["reply_form"]
    # ... without the draft's [n] markers: what the composer holds is what the customer reads.
    assert "[1]" in run.draft
    assert form.initial == {"body": strip_markers(run.draft), "copilot_run": run.pk}
    assert f'name="reply-copilot_run" value="{run.pk}"' in page.content.decode()

    body = run.draft + ("\n\nPS: I added a discount code for you." if edit else "\n")
    response = agent_client.post(url("ticket_reply", question), {"reply-body": body, "reply-copilot_run": run.pk})
    assert response.status_code == 302
    assert DraftFeedback.objects.get(run=run).verdict == verdict
    replied = AuditEvent.objects.get(ticket=question, kind="message.replied")
    assert replied.data["feedback"] == verdict


def test_it_ignores_a_run_of_another_ticket_on_reply(agent_client, workspace, question, ticket):
    sidebar(agent_client, question)
    run = AgentRun.objects.get(ticket=question)
    agent_client.post(url("ticket_reply", ticket), {"reply-body": run.draft, "reply-copilot_run": run.pk})
    assert ticket.messages.filter(kind=MessageKind.REPLY).count() == 1
    assert not DraftFeedback.objects.exists()
    assert agent_client.post(url("ticket_copilot_send", ticket), {"run": run.pk}).status_code == 404


def test_it_queues_a_refund_over_100_for_approval(agent_client, agent, refund_ticket):
    body = sidebar(agent_client, refund_ticket).content.decode()
    run = AgentRun.objects.get(ticket=refund_ticket)
    index = next(i for i, c in enumerate(run.tool_calls) if c["tool"] == "issue_refund")
    assert run.tool_calls[index]["args"]["amount"] == "180.00"
    assert "Needs approval" in body
    assert "Request approval" in body

    response = agent_client.post(url("ticket_copilot_tool", refund_ticket), {"run": run.pk, "call": index}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pending approval" in body
    # Header and details follow out of band: the ticket now waits for approval.
    assert 'id="ticket-header" class="ticket-header" hx-swap-oob="true"' in body
    assert 'id="ticket-meta" class="ticket-meta" aria-label="Ticket details" hx-swap-oob="true"' in body
    action = ActionRequest.objects.get(ticket=refund_ticket)
    assert (action.status, action.tool, str(action.amount), action.requested_by_user) == (
        ActionStatus.PENDING,
        "issue_refund",
        "180.00",
        agent,
    )
    refund_ticket.refresh_from_db()
    assert refund_ticket.status == TicketStatus.AWAITING_APPROVAL
    assert AuditEvent.objects.filter(ticket=refund_ticket, kind="action.requested", actor=agent.email).exists()
    # Nothing left the shop: the refund waits for a manager.
    assert not AuditEvent.objects.filter(
        ticket=refund_ticket, kind="ai.tool_called", data__tool="issue_refund"
    ).exclude(data__status__in=["simulated", "pending_approval", "refused"])


def test_it_runs_a_read_tool_right_away(agent_client, agent, refund_ticket):
    sidebar(agent_client, refund_ticket)
    run = AgentRun.objects.get(ticket=refund_ticket)
    index = next(i for i, c in enumerate(run.tool_calls) if c["tool"] == "lookup_order")
    before = AuditEvent.objects.filter(ticket=refund_ticket, kind="ai.tool_called", actor=agent.email).count()
    response = agent_client.post(url("ticket_copilot_tool", refund_ticket), {"run": run.pk, "call": index}, **HTMX)
    assert response.status_code == 200
    assert "lookup_order ran" in response.content.decode()
    event = AuditEvent.objects.filter(ticket=refund_ticket, kind="ai.tool_called", actor=agent.email).last()
    assert before == 0
    assert event is not None
    assert event.data["status"] == "executed"
    assert not ActionRequest.objects.exists()


def test_it_answers_204_to_the_poll_until_something_changes(agent_client, question):
    page = agent_client.get(url("ticket", question))
    version = page.context["version"]
    poll = url("ticket_poll", question)
    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(poll, {"v": version}, **HTMX)
    assert response.status_code == 204
    # Session and user, the access check, the version key: nothing else.
    assert len(queries.captured_queries) <= 4

    ticket_add_customer_message(ticket=question, body="Hello? Any news about my parcel?")
    response = agent_client.get(poll, {"v": version}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="live"')
    assert "Any news about my parcel?" in body
    assert '<ol id="thread" class="thread" aria-live="polite" hx-swap-oob="true">' in body
    assert 'id="copilot-body" class="copilot-body cp-loading" hx-swap-oob="true"' in body
    new_version = page.context["version"]
    assert new_version == version
    fresh = agent_client.get(url("ticket", question)).context["version"]
    assert fresh != version
    assert agent_client.get(poll, {"v": fresh}, **HTMX).status_code == 204

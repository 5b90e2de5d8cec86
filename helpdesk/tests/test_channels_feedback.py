"""'Did this solve it?', asking for a human, and business hours, across the chat and the portal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ai.models import ConfidenceRule
from ai.tests.agent_support import agent_mode, helpcenter, orders  # noqa: F401 (fixtures)
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Outcome, OutcomeStatus
from helpdesk.channels.hours import back_message, is_open
from helpdesk.hooks import asks_for_human as human_requested
from helpdesk.models import Message, Ticket, TicketStatus
from helpdesk.models.channels import BusinessHours, CustomerFeedback
from helpdesk.services import ticket_reply
from helpdesk.tests.channels_support import api, poll, post, start_signed, start_visitor

pytestmark = pytest.mark.django_db


def feedback(client, workspace, token, message_id, solved):
    return client.post(
        api(workspace, "feedback"),
        data=json.dumps({"message_id": message_id, "solved": solved}),
        content_type="application/json",
        HTTP_X_OASIS_SESSION=token,
    )


@pytest.fixture
def answered(client, workspace, helpcenter, orders, agent_mode, django_capture_on_commit_callbacks):  # noqa: F811
    """A signed-in customer asks where their order is; the Agent answers in the chat."""
    ConfidenceRule.objects.create(workspace=workspace, channel="chat", ticket_type="", autosend_threshold=0.0)
    token = start_signed(client, workspace, email="carla@customer.test", name="Carla Customer")
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, workspace, token, "Where is my order A1001? It has not arrived.").status_code == 201
    return token


def test_it_shows_the_ai_answer_with_citations_and_asks_if_it_solved_it(client, workspace, answered):
    body = poll(client, workspace, answered).json()
    _customer, reply = body["messages"]
    assert reply["author"] == "ai" and "A1001" in reply["body"]
    assert reply["citations"] and reply["citations"][0]["title"]
    assert body["state"]["ask_feedback_for"] == reply["id"]
    assert Outcome.objects.get().status == OutcomeStatus.PENDING


def test_it_reads_a_changed_thread_in_a_few_queries_and_keeps_asking_about_the_newest_answer(
    client, workspace, answered, agent, django_assert_max_num_queries
):
    first = poll(client, workspace, answered).json()["messages"][-1]["id"]
    feedback(client, workspace, answered, first, True)
    ticket = Ticket.objects.get()
    human = ticket_reply(ticket=ticket, body="Anything else?", actor=Actor.for_user(agent))
    # The rate-limit hit, the version probe, the session, the messages (with their client ids
    # and citations), the feedback rows.
    with django_assert_max_num_queries(5):
        body = poll(client, workspace, answered, after=first).json()
    assert [m["id"] for m in body["messages"]] == [human.pk]
    assert body["messages"][0]["author_name"] and body["messages"][0]["citations"] == []
    assert body["state"]["feedback"] == {"message_id": first, "solved": True}
    assert body["state"]["ask_feedback_for"] is None  # the newest message is a person's
    # Nothing new after the last message: the state still comes (from one more query).
    with django_assert_max_num_queries(6):
        state = poll(client, workspace, answered, after=human.pk).json()["state"]
    assert state["feedback"] == {"message_id": first, "solved": True} and state["ask_feedback_for"] is None


def test_it_confirms_the_outcome_when_the_customer_says_yes(client, workspace, answered):
    reply_id = poll(client, workspace, answered).json()["messages"][-1]["id"]
    response = feedback(client, workspace, answered, reply_id, True)
    assert response.json() == {"solved": True, "recorded": True}
    assert Outcome.objects.get().status == OutcomeStatus.CONFIRMED
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.RESOLVED
    event = AuditEvent.objects.get(ticket=ticket, kind="customer.solved")
    assert event.data["message"] == reply_id and event.data["source"] == "chat"
    assert event.actor == "carla@customer.test"
    # A second click changes nothing.
    assert feedback(client, workspace, answered, reply_id, False).json() == {"solved": True, "recorded": False}
    assert CustomerFeedback.objects.count() == 1
    assert poll(client, workspace, answered).json()["state"]["ask_feedback_for"] is None


def test_it_hands_off_to_a_human_when_the_customer_says_no(client, workspace, answered):
    reply_id = poll(client, workspace, answered).json()["messages"][-1]["id"]
    assert feedback(client, workspace, answered, reply_id, False).json()["recorded"] is True
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.ai_decision, ticket.ai_reason) == (
        TicketStatus.OPEN,
        "escalate",
        "customer said it did not solve it",
    )
    assert Outcome.objects.get().status == OutcomeStatus.VOIDED  # never billed
    note = Message.objects.get(ticket=ticket, kind="note")
    assert "Where is my order A1001?" in note.body and "A1001" in note.body.split("AI's answer:")[1]
    kinds = list(AuditEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert "customer.not_solved" in kinds and "ticket.handed_off" in kinds
    assert poll(client, workspace, answered).json()["state"]["handed_off"] is True


def test_it_refuses_feedback_without_an_ai_answer(client, workspace, agent):
    token = start_visitor(client, workspace)
    post(client, workspace, token, "Hello?")
    ticket = Ticket.objects.get()
    human = ticket_reply(ticket=ticket, body="Hi, how can I help?", actor=Actor.for_user(agent))
    assert feedback(client, workspace, token, human.pk, True).status_code == 400
    assert poll(client, workspace, token).json()["state"]["ask_feedback_for"] is None


# --------------------------------------------------------------- ask for a human


@pytest.mark.parametrize(
    "text",
    ["talk to a human", "Agent please", "persona", "Je veux parler à un humain", "humain", "I want a real person now"],
)
def test_it_recognises_asks_for_a_human(text):
    assert human_requested(text)


@pytest.mark.parametrize(
    "text", ["Where is my order?", "The agent at the store was rude about my refund", "personal data"]
)
def test_it_does_not_mistake_other_messages_for_a_handoff(text):
    assert not human_requested(text)


def test_it_hands_off_at_once_when_the_customer_asks_for_a_human(
    client,
    workspace,
    helpcenter,  # noqa: F811
    agent_mode,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    token = start_visitor(client, workspace)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, workspace, token, "I want to talk to a human please", client_id="h1")
    ticket = Ticket.objects.get()
    assert ticket.ai_decision == "escalate"
    assert AuditEvent.objects.filter(ticket=ticket, kind="customer.asked_for_human").exists()
    assert (
        AuditEvent.objects.get(ticket=ticket, kind="ticket.handed_off").data["reason"] == "customer asked for a human"
    )
    # No bot answer: the customer sees the handoff notice instead.
    body = poll(client, workspace, token).json()
    assert [m["author"] for m in body["messages"]] == ["customer"]
    assert body["state"]["notice"] == "Thanks, a person will answer shortly."


# ------------------------------------------------------------- business hours


def weekdays_9_to_17(workspace):
    return BusinessHours.objects.create(
        workspace=workspace,
        channel="chat",
        timezone="Europe/Paris",
        hours={str(d): [["09:00", "17:00"]] for d in range(5)},
    )


def test_it_knows_when_people_are_back(workspace):
    hours = weekdays_9_to_17(workspace)
    saturday = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)  # a Saturday, 13:00 in Paris
    assert not is_open(hours, saturday)
    assert back_message(hours, saturday) == "We're back Monday 9:00 CET; a person will answer then."
    tuesday_night = datetime(2026, 1, 13, 22, 0, tzinfo=UTC)
    assert back_message(hours, tuesday_night) == "We're back tomorrow 9:00 CET; a person will answer then."
    assert is_open(hours, datetime(2026, 1, 13, 10, 0, tzinfo=UTC))


def test_it_tells_the_customer_when_a_person_will_answer_outside_hours(client, workspace, monkeypatch):
    weekdays_9_to_17(workspace)
    saturday = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    monkeypatch.setattr("helpdesk.channels.hours.timezone.now", lambda: saturday)
    token = start_visitor(client, workspace)
    post(client, workspace, token, "agent please")
    assert poll(client, workspace, token).json()["state"]["notice"] == (
        "We're back Monday 9:00 CET; a person will answer then."
    )

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from audit.services import Actor, audit_verify_workspace
from billing.models import Outcome, OutcomeStatus
from billing.rules import is_confirmation, is_greeting_only
from billing.services import outcome_track_ai_reply, outcomes_finalize_due, outcomes_scan
from billing.tests.conftest import after_window, ai_reply, customer_says, new_ticket
from helpdesk.models import Ticket
from helpdesk.services import ticket_reply


def test_it_opens_a_pending_outcome_with_evidence_when_the_ai_answers(workspace, ticket, plan):
    outcome = ai_reply(ticket)
    assert outcome.status == OutcomeStatus.PENDING
    assert outcome.price == Decimal("0.50") and outcome.currency == "USD"
    assert outcome.window_ends_at - outcome.ai_replied_at == timedelta(hours=72)
    reply_id = ticket.messages.get(author_kind="ai").pk
    assert outcome.evidence["ai_replies"] == [reply_id]
    assert outcome.evidence["audit_timeline"] == f"/admin/audit/auditevent/ticket/{ticket.pk}/timeline/"
    assert AuditEvent.objects.for_ticket(ticket.pk).filter(kind="outcome.pending").count() == 1
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


def test_it_confirms_when_the_customer_says_it_is_solved(ticket, plan, django_capture_on_commit_callbacks):
    ai_reply(ticket)
    message = customer_says(ticket, "Thanks, that worked!", django_capture_on_commit_callbacks)
    outcome = Outcome.objects.get(ticket=ticket)
    assert outcome.status == OutcomeStatus.CONFIRMED
    assert outcome.evidence["resolution"] == "confirmed"
    assert outcome.evidence["confirmation_message"] == message.pk
    assert outcome.resolved_at == message.created_at


def test_it_finalises_after_a_silent_window_and_not_before(ticket, plan):
    ai_reply(ticket)
    assert outcomes_finalize_due(now=after_window(hours=71)) == 0
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.PENDING
    assert outcomes_finalize_due(now=after_window()) == 1
    outcome = Outcome.objects.get(ticket=ticket)
    assert outcome.status == OutcomeStatus.CONFIRMED
    assert outcome.evidence["resolution"] == "silent_window"
    assert outcome.resolved_at == outcome.window_ends_at
    assert outcomes_finalize_due(now=after_window()) == 0  # idempotent
    assert AuditEvent.objects.filter(kind="outcomes.finalized", data__outcomes=[outcome.pk]).count() == 1


def test_it_voids_when_the_customer_comes_back_inside_the_window(ticket, plan, django_capture_on_commit_callbacks):
    ai_reply(ticket)
    customer_says(
        ticket, "That tracking number does not work, the parcel is still missing.", django_capture_on_commit_callbacks
    )
    outcome = Outcome.objects.get(ticket=ticket)
    assert outcome.status == OutcomeStatus.VOIDED
    assert outcome.evidence["history"][-1]["reason"] == "customer_returned"
    assert outcomes_finalize_due(now=after_window()) == 0
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.VOIDED


def test_it_reopens_a_voided_outcome_when_the_ai_answers_again(ticket, plan, django_capture_on_commit_callbacks):
    first = ai_reply(ticket)
    customer_says(ticket, "And can I change the delivery address?", django_capture_on_commit_callbacks)
    second = ai_reply(ticket, "Yes: the address can change until the parcel ships; I updated it to 1 Main St.")
    assert second.pk == first.pk and second.status == OutcomeStatus.PENDING
    assert len(second.evidence["ai_replies"]) == 2


def test_it_does_not_count_a_ticket_a_human_answered(ticket, plan, agent):
    ticket_reply(ticket=ticket, body="Let me check that for you.", actor=Actor.for_user(agent))
    assert ai_reply(ticket) is None
    assert not Outcome.objects.filter(ticket=ticket).exists()


def test_it_voids_a_pending_outcome_when_a_human_replies_later(ticket, plan, agent):
    ai_reply(ticket)
    ticket_reply(ticket=ticket, body="Adding: the courier is delayed.", actor=Actor.for_user(agent))
    assert outcomes_scan()["voided"] == 1
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.VOIDED


def test_the_finaliser_voids_a_human_touched_outcome_even_without_a_scan(ticket, plan, agent):
    ai_reply(ticket)
    ticket_reply(ticket=ticket, body="Adding: the courier is delayed.", actor=Actor.for_user(agent))
    assert outcomes_finalize_due(now=after_window()) == 0
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.VOIDED


def test_it_does_not_count_greetings_only_replies(ticket, plan):
    assert ai_reply(ticket, "Hi Carla, thanks for reaching out!") is None
    assert ai_reply(ticket, "You're welcome, have a great day!") is None
    assert not Outcome.objects.filter(ticket=ticket).exists()


def test_it_does_not_count_escalations(ticket, plan):
    Ticket.objects.filter(pk=ticket.pk).update(ai_decision="escalate")
    ticket.refresh_from_db()
    assert ai_reply(ticket, autosend=False) is None
    assert not Outcome.objects.filter(ticket=ticket).exists()


def test_it_keeps_at_most_one_outcome_per_ticket(ticket, plan):
    outcome = ai_reply(ticket)
    with pytest.raises(IntegrityError), transaction.atomic():
        Outcome.objects.create(
            workspace=outcome.workspace,
            ticket=ticket,
            ai_replied_at=outcome.ai_replied_at,
            window_ends_at=outcome.window_ends_at,
            price=Decimal("0.50"),
            currency="USD",
        )


def test_the_scan_tracks_ai_resolved_tickets(workspace, plan, agent):
    resolved = [new_ticket(workspace, n) for n in range(3)]
    for t in resolved:
        ai_reply(t, track=False)
    human = new_ticket(workspace, 10)
    ticket_reply(ticket=human, body="A human answer with details.", actor=Actor.for_user(agent))
    ai_reply(human, track=False)
    waiting = new_ticket(workspace, 11)
    ai_reply(waiting, track=False)
    customer_message = new_ticket(workspace, 12)  # noqa: F841 -- only the customer wrote
    result = outcomes_scan()
    assert result == {"tracked": 4, "voided": 0}
    assert set(Outcome.objects.values_list("ticket_id", flat=True)) == {t.pk for t in [*resolved, waiting]}
    assert outcomes_scan() == {"tracked": 0, "voided": 0}


def test_the_scan_query_count_does_not_grow_with_tickets(workspace, plan, django_assert_max_num_queries):
    # No candidates: finding them is a constant number of queries however many tickets exist.
    for n in range(6):
        new_ticket(workspace, n)
    with django_assert_max_num_queries(3):
        outcomes_scan()


def test_it_refuses_to_track_a_message_that_is_not_an_ai_reply(ticket):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        outcome_track_ai_reply(message=ticket.messages.first())


@pytest.mark.parametrize(
    ("body", "greeting"),
    [
        ("Hello!", True),
        ("Hi Carla, thanks for reaching out!", True),
        ("Thanks for your message, happy to help.", True),
        ("Your order shipped.", False),
        ("Hi! Your refund of 20.00 is on its way.", False),
        ("Reset your password here: https://shop.test/reset", False),
    ],
)
def test_it_tells_greetings_from_answers(body, greeting):
    assert is_greeting_only(body) is greeting


@pytest.mark.parametrize(
    ("body", "confirmed"),
    [
        ("Thanks, that worked!", True),
        ("Perfect, all sorted. Thank you", True),
        ("It is still not solved.", False),
        ("Solved, but can I also change my address?", False),
        ("Where is my parcel?", False),
    ],
)
def test_it_tells_confirmations_from_new_questions(body, confirmed):
    assert is_confirmation(body) is confirmed


def test_the_hooks_track_an_ai_reply_and_void_on_a_human_reply(ticket, plan, agent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ai_reply(ticket, track=False)
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=ticket, body="Adding a note from a human: it ships today.", actor=Actor.for_user(agent))
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.VOIDED

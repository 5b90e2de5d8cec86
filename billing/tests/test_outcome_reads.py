"""The AI reply's outcome check reads "a human replied?" and "the last public message" together."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.services import Actor
from billing.models import Outcome
from billing.services import not_an_outcome_reason, outcome_track_ai_reply
from billing.tests.conftest import ai_reply
from helpdesk.models import Ticket
from helpdesk.services import ticket_add_customer_message, ticket_add_note, ticket_reply


def test_it_does_not_count_an_ai_reply_that_is_no_longer_the_last_message(ticket, plan):
    message = ai_reply(ticket, track=False)
    ticket_add_customer_message(ticket=ticket, body="It still has not arrived.")
    assert outcome_track_ai_reply(message=message) is None
    assert not Outcome.objects.filter(ticket=ticket).exists()


def test_a_note_after_the_ai_reply_does_not_stop_it_counting(ticket, plan, agent):
    message = ai_reply(ticket, track=False)
    ticket_add_note(ticket=ticket, body="Internal: looks fine.", actor=Actor.for_user(agent))
    ticket = Ticket.objects.get(pk=ticket.pk)
    with CaptureQueriesContext(connection) as queries:
        reason = not_an_outcome_reason(ticket=ticket, message=message)
    assert reason == ""
    assert len(queries.captured_queries) == 1  # both questions in one statement
    ticket_reply(ticket=ticket, body="A human adds details.", actor=Actor.for_user(agent))
    assert not_an_outcome_reason(ticket=Ticket.objects.get(pk=ticket.pk), message=message) == "human_replied"

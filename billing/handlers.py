"""Billing's reactions to helpdesk events (registered in `BillingConfig.ready`)."""

from __future__ import annotations

from typing import Any

from audit.services import Actor
from billing.models import Outcome, OutcomeStatus
from billing.services import (
    outcome_confirm,
    outcome_credit,
    outcome_customer_message,
    outcome_track_ai_reply,
    outcome_void,
)
from helpdesk.hooks import FeedbackGiven
from helpdesk.models import AuthorKind, Message, Ticket


def customer_message_committed(message: Message) -> None:
    """A customer wrote again: a pending outcome is confirmed or voided, a billed one credited."""
    outcome_customer_message(message=message)


def public_reply_committed(message: Message) -> None:
    """An AI reply opens (or refreshes) a pending outcome; a human reply means it is not one."""
    if message.author_kind == AuthorKind.AI:
        outcome_track_ai_reply(message=message)
        return
    outcome = Outcome.objects.filter(
        ticket_id=message.ticket_id, status__in=(OutcomeStatus.PENDING, OutcomeStatus.CONFIRMED)
    ).first()
    if outcome is not None:
        outcome_void(outcome=outcome, reason="human_replied", actor=Actor.system("billing"), message=message)


def ticket_reopened(ticket: Ticket) -> None:
    """Reopened by staff: not resolved after all. Billed already -> a credit on the next invoice."""
    outcome = Outcome.objects.filter(ticket=ticket).first()
    if outcome is None:
        return
    if outcome.status == OutcomeStatus.BILLED:
        outcome_credit(outcome=outcome, reason="reopened", actor=Actor.system("billing"))
    elif outcome.status in (OutcomeStatus.PENDING, OutcomeStatus.CONFIRMED):
        outcome_void(outcome=outcome, reason="reopened", actor=Actor.system("billing"))


def customer_feedback_given(given: FeedbackGiven) -> dict[str, Any]:
    """ "Did this solve it?" yes confirms the pending outcome (billable); no voids it. Runs inside
    the feedback's transaction; answers the outcome's id for the feedback's audit row."""
    outcome = Outcome.objects.filter(ticket_id=given.feedback.ticket_id).first()
    if outcome is None:
        return {"outcome": None}
    if given.feedback.solved and outcome.status == OutcomeStatus.PENDING:
        outcome_confirm(outcome=outcome, actor=given.actor)
    elif not given.feedback.solved and outcome.status in (OutcomeStatus.PENDING, OutcomeStatus.CONFIRMED):
        outcome_void(outcome=outcome, reason="customer_not_solved", actor=given.actor)
    return {"outcome": outcome.pk}

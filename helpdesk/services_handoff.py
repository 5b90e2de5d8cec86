"""Moving a ticket into and out of `awaiting_approval` (approval gates).

Moves through `helpdesk.ticket_states`: of two concurrent changes exactly one moves the row; each
writes its audit event in the same transaction.
"""

from __future__ import annotations

from django.db import transaction

from audit.services import Actor
from helpdesk import ticket_states
from helpdesk.models import Ticket, TicketStatus
from helpdesk.ticket_states import InvalidTransition, _move


@transaction.atomic
def ticket_await_approval(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """An action (or reply) on this ticket waits for a manager: the ticket shows it."""
    changes = {"ai_decision": "awaiting_approval", "ai_reason": reason[:300]}
    try:
        return _move(
            ticket=ticket, verb=ticket_states.AWAIT_APPROVAL, actor=actor, data={"reason": reason}, changes=changes
        )
    except InvalidTransition:
        if ticket.status == TicketStatus.AWAITING_APPROVAL:  # held already (a second action on it)
            return ticket
        raise


@transaction.atomic
def ticket_release_approval(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """The awaited decision was made (approved): the ticket is open again, ready for the reply,
    and its AI state says it was approved (the inbox badge stops reading "awaiting approval")."""
    changes = {"ai_decision": "approved", "ai_reason": reason[:300]}
    try:
        return _move(
            ticket=ticket, verb=ticket_states.RELEASE_APPROVAL, actor=actor, data={"reason": reason}, changes=changes
        )
    except InvalidTransition:  # not on hold: another decision moved it first
        return ticket


@transaction.atomic
def ticket_handoff(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """Hand the ticket to a human: out of `awaiting_approval` (if it was), AI decision `escalate`."""
    changes = {"ai_decision": "escalate", "ai_reason": reason[:300]}
    return _move(
        ticket=ticket, verb=ticket_states.HAND_OFF, actor=actor, data={"reason": reason}, changes=changes, stay=True
    )

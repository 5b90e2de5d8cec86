"""Moving a ticket into and out of `awaiting_approval` (approval gates, issue 5).

Conditional UPDATEs through `ticket_status_move` (services.py): of two concurrent changes exactly
one moves the row; each writes its audit event in the same transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk.models import Ticket, TicketStatus
from helpdesk.services import InvalidTransition, ticket_status_move

WAITABLE = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


@transaction.atomic
def ticket_await_approval(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """An action (or reply) on this ticket waits for a manager: the ticket shows it."""
    previous, moved = ticket_status_move(
        ticket=ticket,
        allowed_from=WAITABLE,
        changes={
            "status": TicketStatus.AWAITING_APPROVAL,
            "ai_decision": "awaiting_approval",
            "ai_reason": reason[:300],
        },
    )
    if previous == TicketStatus.AWAITING_APPROVAL:
        return Ticket.objects.get(pk=ticket.pk)
    if not moved:
        raise InvalidTransition(f"Cannot hold a ticket that is {previous} for approval.")
    ticket.refresh_from_db()
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.awaiting_approval",
        data={"from": previous, "to": TicketStatus.AWAITING_APPROVAL, "reason": reason},
    )
    return ticket


@transaction.atomic
def ticket_release_approval(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """The awaited decision was made (approved): the ticket is open again, ready for the reply,
    and its AI state says it was approved (the inbox badge no longer reads "awaiting approval")."""
    changes: dict[str, object] = {"status": TicketStatus.OPEN, "ai_decision": "approved", "ai_reason": reason[:300]}
    _, moved = ticket_status_move(ticket=ticket, allowed_from=[TicketStatus.AWAITING_APPROVAL], changes=changes)
    ticket.refresh_from_db()
    if moved:
        audit_record(
            workspace=ticket.workspace,
            ticket=ticket,
            actor=actor,
            kind="ticket.approval_released",
            data={"from": TicketStatus.AWAITING_APPROVAL, "to": TicketStatus.OPEN, "reason": reason},
        )
    return ticket


@transaction.atomic
def ticket_handoff(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """Hand the ticket to a human: out of `awaiting_approval` (if it was), AI decision `escalate`."""
    changes: dict[str, object] = {"ai_decision": "escalate", "ai_reason": reason[:300]}
    previous, moved = ticket_status_move(
        ticket=ticket, allowed_from=[TicketStatus.AWAITING_APPROVAL], changes={**changes, "status": TicketStatus.OPEN}
    )
    if not moved:
        Ticket.objects.filter(pk=ticket.pk).update(**changes, updated_at=timezone.now())
    ticket.refresh_from_db()
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.handed_off",
        data={"from": previous, "to": ticket.status, "reason": reason},
    )
    return ticket

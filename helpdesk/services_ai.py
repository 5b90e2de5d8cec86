"""The AI pipeline's one state change on a ticket: recording its decision.

Kept in helpdesk because only helpdesk services assign ticket fields; the ai app calls it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk.models import Ticket, TicketStatus
from helpdesk.services import ticket_status_move

# An escalated ticket goes back to the team's open queue from these states.
ESCALATE_FROM = (TicketStatus.NEW, TicketStatus.PENDING)


@transaction.atomic
def ticket_record_ai_decision(
    *, ticket: Ticket, decision: str, confidence: float | None, reason: str, actor: Actor, run: int | None = None
) -> Ticket:
    """Store the AI's decision on the ticket (the inbox filters on it); escalate opens it for a human."""
    previous = Ticket.objects.filter(pk=ticket.pk).values_list("status", flat=True).get()
    changes: dict[str, object] = {
        "ai_decision": decision,
        "ai_confidence": confidence,
        "ai_reason": reason[:300],
        "updated_at": timezone.now(),
    }
    Ticket.objects.filter(pk=ticket.pk).update(**changes)
    if decision == "escalate":
        # Conditional: a ticket a human already moved elsewhere keeps its status.
        ticket_status_move(ticket=ticket, allowed_from=ESCALATE_FROM, changes={"status": TicketStatus.OPEN})
    ticket.refresh_from_db()
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.ai_decision",
        data={
            "run": run,
            "decision": decision,
            "confidence": confidence,
            "reason": reason,
            "from": previous,
            "to": ticket.status,
        },
    )
    return ticket

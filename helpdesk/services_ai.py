"""The AI pipeline's one state change on a ticket: recording its decision.

Kept in helpdesk because only helpdesk services assign ticket fields; the ai app calls it.
"""

from __future__ import annotations

from django.db import transaction

from audit.services import Actor
from helpdesk import ticket_states
from helpdesk.models import Ticket
from helpdesk.ticket_states import _move, _record_event


@transaction.atomic
def ticket_record_ai_decision(
    *, ticket: Ticket, decision: str, confidence: float | None, reason: str, actor: Actor, run: int | None = None
) -> Ticket:
    """Store the AI's decision on the ticket (the inbox filters on it); escalate opens it for a human.

    The escalation is conditional: a ticket a human already moved elsewhere keeps its status."""
    changes: dict[str, object] = {"ai_decision": decision, "ai_confidence": confidence, "ai_reason": reason[:300]}
    data = {"run": run, "decision": decision, "confidence": confidence, "reason": reason}
    if decision == "escalate":
        return _move(ticket=ticket, verb=ticket_states.ESCALATE, actor=actor, data=data, changes=changes, stay=True)
    return _record_event(ticket=ticket, kind="ticket.ai_decision", actor=actor, data=data, changes=changes)

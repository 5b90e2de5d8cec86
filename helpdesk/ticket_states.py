"""A ticket's status moves, all in one table, and the one function that makes them.

Each verb names the states it starts from, the state it leads to and the audit kind it writes.
`_move` is the only code that changes `Ticket.status` after creation: a conditional UPDATE
(`... WHERE status IN (from-states)`) under the row lock, so of two concurrent changes exactly one
moves the row, and its audit row in the same transaction. The services of helpdesk call it;
nothing else does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk.models import Ticket, TicketStatus

NEW, OPEN, PENDING = TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING
AWAITING, RESOLVED, CLOSED = TicketStatus.AWAITING_APPROVAL, TicketStatus.RESOLVED, TicketStatus.CLOSED

OPEN_STATES = (NEW, OPEN, PENDING, AWAITING)


class InvalidTransition(ValidationError):
    """The ticket was not in a state the change starts from (maybe another user moved it)."""


@dataclass(frozen=True)
class Move:
    sources: tuple[str, ...]
    to: str
    kind: str
    label: str  # "Cannot <label> a ticket that is <status>."


RESOLVE, REOPEN, CLOSE = "resolve", "reopen", "close"
ANSWER, CUSTOMER_RETURN, OPEN_FOR_HUMAN = "answer", "customer_return", "open_for_human"
ESCALATE, AWAIT_APPROVAL, RELEASE_APPROVAL, HAND_OFF = "escalate", "await_approval", "release_approval", "hand_off"

MOVES: dict[str, Move] = {
    RESOLVE: Move(OPEN_STATES, RESOLVED, "ticket.resolved", "resolve"),
    REOPEN: Move((RESOLVED, CLOSED), OPEN, "ticket.reopened", "reopen"),
    CLOSE: Move((*OPEN_STATES, RESOLVED), CLOSED, "ticket.closed", "close"),
    # A public reply leaves the ticket waiting on the customer; its audit row is the reply's.
    ANSWER: Move((NEW, OPEN), PENDING, "message.replied", "answer"),
    # The customer wrote again after an answer: the reports count it as a reopen of that answer.
    CUSTOMER_RETURN: Move((PENDING, RESOLVED, CLOSED), OPEN, "ticket.reopened", "reopen"),
    # The customer asked for a person (or said the answer did not solve it) before any answer was
    # final: the ticket joins the team's open queue, which is not a reopen.
    OPEN_FOR_HUMAN: Move((NEW, PENDING), OPEN, "ticket.opened", "open"),
    # The AI escalated; its decision row records the move.
    ESCALATE: Move((NEW, PENDING), OPEN, "ticket.ai_decision", "escalate"),
    AWAIT_APPROVAL: Move((NEW, OPEN, PENDING), AWAITING, "ticket.awaiting_approval", "hold for approval"),
    RELEASE_APPROVAL: Move((AWAITING,), OPEN, "ticket.approval_released", "release"),
    HAND_OFF: Move((AWAITING,), OPEN, "ticket.handed_off", "hand off"),
}


def _move(
    *,
    ticket: Ticket,
    verb: str,
    actor: Actor,
    data: Mapping[str, object] | None = None,
    changes: Mapping[str, object] | None = None,
    locked: bool = False,
    stay: bool = False,
) -> Ticket:
    """Move `ticket` by `verb`, apply `changes` to its other fields, write the verb's audit row
    (`{**data, "from", "to"}`) and return the same instance, current.

    A ticket outside the verb's from-states raises InvalidTransition and nothing is written,
    unless `stay`: the event (a reply, an AI decision, a handoff) happens whatever the status, so
    the status stays and the row records from == to (see `_record_event`).
    `locked`: the caller already holds the row lock and its instance is current.
    """
    move = MOVES[verb]
    if not locked:
        _lock(ticket)
    previous = ticket.status
    if previous not in move.sources:
        if stay:
            return _record_event(ticket=ticket, kind=move.kind, actor=actor, data=data, changes=changes, locked=True)
        raise InvalidTransition(f"Cannot {move.label} a ticket that is {previous}.")
    fields: dict[str, object] = {**(changes or {}), "status": move.to, "updated_at": timezone.now()}
    if move.to == RESOLVED:
        fields["resolved_at"] = fields["updated_at"]
    elif verb == REOPEN:
        fields["resolved_at"] = None
    if Ticket.objects.filter(pk=ticket.pk, status__in=move.sources).update(**fields) != 1:
        raise InvalidTransition(f"Cannot {move.label} a ticket that is {previous}.")
    return _written(ticket=ticket, fields=fields, kind=move.kind, actor=actor, data=data, previous=previous)


def _record_event(
    *,
    ticket: Ticket,
    kind: str,
    actor: Actor,
    data: Mapping[str, object] | None = None,
    changes: Mapping[str, object] | None = None,
    locked: bool = False,
) -> Ticket:
    """An event on the ticket that leaves its status (an AI decision that does not escalate):
    `changes` apply to its other fields and the `kind` row records from == to."""
    if not locked:
        _lock(ticket)
    fields: dict[str, object] = {**(changes or {}), "updated_at": timezone.now()}
    assert "status" not in fields, "a status change is a move"
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return _written(ticket=ticket, fields=fields, kind=kind, actor=actor, data=data, previous=ticket.status)


def _lock(ticket: Ticket) -> None:
    # The row lock makes the status read here the one the conditional UPDATE sees.
    ticket.refresh_from_db(from_queryset=Ticket.objects.select_for_update(no_key=True))


def _written(
    *,
    ticket: Ticket,
    fields: Mapping[str, object],
    kind: str,
    actor: Actor,
    data: Mapping[str, object] | None,
    previous: str,
) -> Ticket:
    for name, value in fields.items():
        setattr(ticket, name, value)
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind=kind,
        data={**(data or {}), "from": previous, "to": ticket.status},
    )
    return ticket

"""The one-off import of a shop's existing tickets into its live inbox.

Every usable ticket of the file comes in with its thread (the customer's messages and the agents'
public replies, with their dates) in one transaction: a database error on any of them leaves
nothing behind. Imported tickets are history: no AI run starts, no reply is e-mailed, nobody's
identity is taken as proven. A ticket whose external id the workspace already has is skipped, so
importing the same file twice imports it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from audit.redaction import redact_text
from audit.services import Actor, audit_record
from helpdesk.models import AuthorKind, Message, MessageKind, Ticket, TicketStatus, Workspace
from helpdesk.services import _customer_for, _ticket_number
from helpdesk.ticket_import.base import CUSTOMER, ImportedTicket, ParseResult


@dataclass
class InboxImportResult:
    created: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"imported {len(self.created)}, already there {len(self.skipped)}, rows with errors {len(self.errors)}"


def _status(ticket: ImportedTicket) -> str:
    if ticket.closed:
        return TicketStatus.CLOSED
    return TicketStatus.OPEN if ticket.messages[-1].author == CUSTOMER else TicketStatus.PENDING


def _import_one(*, workspace: Workspace, item: ImportedTicket, actor: Actor) -> Ticket:
    customer = _customer_for(workspace=workspace, email=item.customer_email, name=item.customer_name, actor=actor)
    last = item.messages[-1].created_at or item.created_at
    ticket = Ticket.objects.create(
        workspace=workspace,
        number=_ticket_number(workspace),
        customer=customer,
        subject=item.subject or item.body.splitlines()[0][:120],
        channel=item.channel,
        status=_status(item),
        external_id=item.external_id,
        last_message_at=last,
    )
    if item.created_at is not None:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=item.created_at)
    for message in item.messages:
        row = Message.objects.create(
            ticket=ticket,
            kind=MessageKind.CUSTOMER if message.author == CUSTOMER else MessageKind.REPLY,
            author_kind=AuthorKind.CUSTOMER if message.author == CUSTOMER else AuthorKind.AGENT,
            body=message.body,
        )
        if message.created_at is not None:
            Message.objects.filter(pk=row.pk).update(created_at=message.created_at)
    audit_record(
        workspace=workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.imported",
        data={
            "external_id": item.external_id,
            "subject": redact_text(ticket.subject),
            "customer": customer.email,
            "messages": len(item.messages),
            "status": ticket.status,
        },
    )
    return ticket


@transaction.atomic
def tickets_import(*, workspace: Workspace, parsed: ParseResult, actor: Actor, source: str = "") -> InboxImportResult:
    """Import the parsed file's usable tickets into the workspace's inbox, all or nothing."""
    result = InboxImportResult(errors=list(parsed.errors))
    ids = [t.external_id for t in parsed.tickets]
    have = set(Ticket.objects.filter(workspace=workspace, external_id__in=ids).values_list("external_id", flat=True))
    for item in parsed.tickets:
        if item.external_id in have:
            result.skipped.append(item.external_id)
            continue
        result.created.append(_import_one(workspace=workspace, item=item, actor=actor).pk)
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="tickets.imported",
        data={
            "source": source,
            "format": parsed.format,
            "imported": len(result.created),
            "already_there": len(result.skipped),
            "row_errors": result.errors[:200],
        },
    )
    return result

"""Every state change of the helpdesk goes through one function here.

Each is keyword-only, runs in one transaction, writes its audit event in that transaction
and leaves side effects (email, AI runs) to `transaction.on_commit`. Views, the API, the
admin, tasks and commands all call these; nothing else assigns `ticket.status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit.redaction import redact_text
from audit.services import Actor, audit_record
from helpdesk import hooks, ticket_states
from helpdesk.citations import customer_text
from helpdesk.models import (
    AuthorKind,
    Channel,
    Customer,
    Membership,
    Message,
    MessageKind,
    Role,
    Ticket,
    TicketStatus,
    TicketType,
    Workspace,
)
from helpdesk.ticket_states import OPEN_STATES as OPEN_STATES  # the inbox's "can resolve"
from helpdesk.ticket_states import InvalidTransition as InvalidTransition  # raised by the services here
from helpdesk.ticket_states import _move

# ---------------------------------------------------------------------------- workspaces


@transaction.atomic
def workspace_create(*, name: str, slug: str, actor: Actor, currency: str = "USD") -> Workspace:
    workspace = Workspace(name=name.strip(), slug=slug, currency=currency)
    workspace.full_clean()
    workspace.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="workspace.created",
        data={"name": workspace.name, "slug": workspace.slug},
    )
    hooks.workspace_created.fire(workspace)
    return workspace


WORKSPACE_SETTINGS = (
    "name",
    "mode",
    "currency",
    "support_email",
    "mail_relay_authserv_id",
    "source_link_channels",
    "unknown_order_status",
)


@transaction.atomic
def workspace_update(*, workspace: Workspace, actor: Actor, changes: dict[str, object]) -> Workspace:
    """Change a workspace's settings; the audit row keeps each field's before and after."""
    unknown = set(changes) - set(WORKSPACE_SETTINGS)
    if unknown:
        raise ValidationError(f"Not a workspace setting: {', '.join(sorted(unknown))}.")
    workspace = Workspace.objects.select_for_update(no_key=True).get(pk=workspace.pk)
    diff = {
        field: {"from": getattr(workspace, field), "to": value}
        for field, value in changes.items()
        if getattr(workspace, field) != value
    }
    for field, value in changes.items():
        setattr(workspace, field, value)
    workspace.full_clean()
    workspace.save(update_fields=list(changes) or None)
    if diff:
        audit_record(workspace=workspace, actor=actor, kind="workspace.settings_changed", data=diff)
    return workspace


@transaction.atomic
def membership_add(*, workspace: Workspace, user: User, role: str, actor: Actor) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership, created = Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="membership.added" if created else "membership.changed",
        data={"user": getattr(user, "email", str(user)), "role": role},
    )
    return membership


# ----------------------------------------------------------------------------- customers


def _clean_body(body: str) -> str:
    body = (body or "").replace("\x00", "").strip()
    if not body:
        raise ValidationError({"body": "The message is empty."})
    if len(body) > settings.OASIS_MAX_MESSAGE_CHARS:
        raise ValidationError({"body": f"The message is longer than {settings.OASIS_MAX_MESSAGE_CHARS} characters."})
    return body


def _customer_for(*, workspace: Workspace, email: str, name: str, actor: Actor) -> Customer:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"customer_email": f"{email!r} is not a valid email address."}) from None
    customer = Customer.objects.filter(workspace=workspace, email__iexact=email).first()
    if customer is None:
        # Two first messages from one new address at once make one customer: the second waits
        # here (a lock on this address only, to the end of the first's transaction) and then
        # finds the first's.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(('x' || substr(md5(%s), 1, 16))::bit(64)::bigint)",
                [f"customer:{workspace.pk}:{email.lower()}"],
            )
        customer = Customer.objects.filter(workspace=workspace, email__iexact=email).first()
    if customer is None:
        customer = Customer.objects.create(workspace=workspace, email=email, name=name.strip()[:200])
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="customer.created",
            data={"customer": customer.pk, "email": customer.email},
        )
    return customer


# ------------------------------------------------------------------------------- tickets


def _message_data(message: Message) -> dict[str, object]:
    return {"message": message.pk, "kind": message.kind, "author_kind": message.author_kind, "chars": len(message.body)}


def _on_customer_message(message: Message) -> None:
    """Run after commit for every inbound customer message: hand it to the AI pipeline."""
    hooks.customer_message.fire(message)


def _ticket_number(workspace: Workspace) -> int:
    """The workspace's next ticket number, from its own sequence.

    A sequence never waits, where max(number) + 1 would need the workspace row lock held to the
    end of each transaction, queueing a burst of new chats one at a time through their commits.
    Like most helpdesks' numbers, a rolled-back ticket's number is skipped.
    """
    sequence = f"helpdesk_ticket_number_{int(workspace.pk)}"  # an int: safe to format into SQL
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(to_regclass(%s))", [sequence])
        row = cursor.fetchone()
        number = row[0] if row else None
        if number is not None and not Ticket.objects.filter(workspace=workspace, number=number).exists():
            return int(number)
        # The workspace's first ticket since sequences, or a number taken by other means (an
        # import): (re)start the sequence after the highest number, under the workspace row lock
        # (NO KEY UPDATE: other transactions' key-share checks of their audit rows pass it).
        Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()
        top = Ticket.objects.filter(workspace=workspace).aggregate(n=Max("number"))["n"] or 0
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
        last, called = cursor.fetchone() or (1, False)
        floor = max(top, last if called else last - 1)  # never behind a number already drawn
        if floor > 0:
            cursor.execute("SELECT setval(%s, %s)", [sequence, floor])
        cursor.execute("SELECT nextval(%s)", [sequence])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


@transaction.atomic
def ticket_create(
    *,
    workspace: Workspace,
    channel: str,
    customer_email: str,
    customer_name: str = "",
    subject: str,
    body: str,
    actor: Actor | None = None,
    email_message_id: str = "",
    external_id: str = "",
    created_at: datetime | None = None,
) -> Ticket:
    """Open a ticket from an inbound customer message (any channel)."""
    if channel not in Channel.values:
        raise ValidationError({"channel": f"Unknown channel {channel!r}; use one of {Channel.values}."})
    body = _clean_body(body)
    subject = (subject or "").strip() or body.splitlines()[0][:120]
    customer = _customer_for(
        workspace=workspace,
        email=customer_email,
        name=customer_name,
        actor=actor or Actor.system(f"{channel}-inbound"),
    )
    actor = actor or Actor.for_customer(customer)
    number = _ticket_number(workspace)
    now = created_at or timezone.now()
    ticket = Ticket(
        workspace=workspace,
        number=number,
        customer=customer,
        subject=subject[:300],
        channel=channel,
        status=TicketStatus.NEW,
        external_id=external_id[:200],
        last_message_at=now,
    )
    # Field checks only: the workspace and customer rows exist (read above) and the number is
    # the workspace's next, so the three lookups `full_clean` would add check nothing the
    # constraints don't.
    ticket.full_clean(exclude=["search_vector", "workspace", "customer"], validate_unique=False)
    ticket.save()
    if created_at is not None:
        Ticket.objects.filter(pk=ticket.pk).update(created_at=created_at)
    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.CUSTOMER,
        author_kind=AuthorKind.CUSTOMER,
        body=body,
        email_message_id=email_message_id[:998],
    )
    if created_at is not None:
        Message.objects.filter(pk=message.pk).update(created_at=created_at)
    audit_record(
        workspace=workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.created",
        # The subject may be the body's first line: redacted like every audit payload.
        data={"number": number, "channel": channel, "subject": redact_text(ticket.subject), "customer": customer.email},
    )
    audit_record(workspace=workspace, ticket=ticket, actor=actor, kind="message.received", data=_message_data(message))
    transaction.on_commit(lambda: _on_customer_message(message))
    return ticket


@transaction.atomic
def ticket_add_customer_message(
    *, ticket: Ticket, body: str, email_message_id: str = "", actor: Actor | None = None
) -> Message:
    """A customer wrote again on an existing ticket: it comes back to the team's queue."""
    body = _clean_body(body)
    # The customer and workspace come along for the audit rows; only the ticket row is locked.
    ticket = (
        Ticket.objects.select_for_update(no_key=True, of=("self",))
        .select_related("workspace", "customer")
        .get(pk=ticket.pk)
    )
    actor = actor or Actor.for_customer(ticket.customer)
    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.CUSTOMER,
        author_kind=AuthorKind.CUSTOMER,
        body=body,
        email_message_id=email_message_id[:998],
    )
    audit_record(
        workspace=ticket.workspace, ticket=ticket, actor=actor, kind="message.received", data=_message_data(message)
    )
    changes = {"last_message_at": message.created_at}
    try:
        _move(
            ticket=ticket,
            verb=ticket_states.CUSTOMER_RETURN,
            actor=actor,
            data={"reason": "customer replied"},
            changes=changes,
            locked=True,
        )
    except InvalidTransition:  # already in the team's queue
        ticket.last_message_at = message.created_at
        ticket.save(update_fields=["last_message_at", "updated_at"])
    transaction.on_commit(lambda: _on_customer_message(message))
    return message


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    body: str,
    actor: Actor,
    author_kind: str = AuthorKind.AGENT,
    data: dict[str, object] | None = None,
    sources: Iterable[Mapping[str, Any]] | None = None,
) -> Message:
    """Send a public reply (a human's, or the AI's through the same path) to the customer.

    `sources`: the body started as an AI draft citing these; the customer gets it without its
    [n] markers, with the sources as links at the end where the channel wants them."""
    # The workspace comes along for the audit row (one query); only the ticket row is locked.
    ticket = Ticket.objects.select_for_update(no_key=True, of=("self",)).select_related("workspace").get(pk=ticket.pk)
    if sources is not None:
        body = customer_text(body, sources, links=ticket.workspace.links_sources_on(ticket.channel))
    body = _clean_body(body)
    if ticket.status == TicketStatus.CLOSED:
        raise InvalidTransition("The ticket is closed; reopen it before replying.")
    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.REPLY,
        author_kind=author_kind,
        author_user_id=actor.user_id,
        body=body,
        email_message_id=_new_message_id(ticket),
    )
    _move(
        ticket=ticket,
        verb=ticket_states.ANSWER,
        actor=actor,
        data={**_message_data(message), **(data or {})},
        changes={"last_message_at": message.created_at},
        locked=True,
        stay=True,
    )
    # Email and web-form customers hear back by email; chat and API clients read the thread.
    if ticket.channel in (Channel.EMAIL, Channel.WEB):
        from helpdesk.tasks import enqueue_reply_email

        transaction.on_commit(lambda: enqueue_reply_email(message.pk))
    transaction.on_commit(lambda: hooks.public_reply.fire(message))
    return message


@transaction.atomic
def ticket_add_note(*, ticket: Ticket, body: str, actor: Actor) -> Message:
    """An internal note: visible to staff only, never sent."""
    body = _clean_body(body)
    message = Message.objects.create(
        ticket=ticket,
        kind=MessageKind.NOTE,
        author_kind=AuthorKind.AGENT if actor.user_id else AuthorKind.SYSTEM,
        author_user_id=actor.user_id,
        body=body,
    )
    audit_record(workspace=ticket.workspace, ticket=ticket, actor=actor, kind="note.added", data=_message_data(message))
    return message


@transaction.atomic
def ticket_assign(*, ticket: Ticket, assignee: User | None, actor: Actor) -> Ticket:
    if assignee is not None and not Membership.objects.filter(workspace_id=ticket.workspace_id, user=assignee).exists():
        raise ValidationError({"assignee": "The assignee is not a member of this workspace."})
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    previous = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.assigned",
        data={
            "from": getattr(previous, "email", None),
            "to": getattr(assignee, "email", None),
        },
    )
    return ticket


@transaction.atomic
def ticket_set_type(*, ticket: Ticket, ticket_type: str, actor: Actor, reason: str = "") -> Ticket:
    if ticket_type not in TicketType.values:
        raise ValidationError({"ticket_type": f"Unknown ticket type {ticket_type!r}."})
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    previous = ticket.ticket_type
    ticket.ticket_type = ticket_type
    ticket.save(update_fields=["ticket_type", "updated_at"])
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="ticket.type_set",
        data={"from": previous, "to": ticket_type, "reason": reason},
    )
    return ticket


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, actor: Actor, reason: str = "") -> Ticket:
    return _move(ticket=ticket, verb=ticket_states.RESOLVE, actor=actor, data={"reason": reason})


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, actor: Actor, reason: str = "") -> Ticket:
    ticket = _move(ticket=ticket, verb=ticket_states.REOPEN, actor=actor, data={"reason": reason})
    transaction.on_commit(lambda: hooks.ticket_reopened.fire(ticket))
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor: Actor, reason: str = "") -> Ticket:
    return _move(ticket=ticket, verb=ticket_states.CLOSE, actor=actor, data={"reason": reason})


def _new_message_id(ticket: Ticket) -> str:
    from email.utils import make_msgid

    return make_msgid(idstring=f"t{ticket.pk}", domain=settings.OASIS_EMAIL_DOMAIN)

"""State changes of the customer-facing channels (chat widget, contact form, portal).

Same habits as helpdesk/services.py: keyword-only, one transaction, the audit event in that
transaction, side effects (emails, AI runs) after commit. Tickets and messages are still
created by helpdesk.services; this module adds the channel's own rows around them.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse

from audit.services import Actor, audit_record
from helpdesk import hooks, ticket_states
from helpdesk.channels.identity import portal_token
from helpdesk.models import AuthorKind, Channel, Message, MessageKind, Ticket, TicketStatus, Workspace
from helpdesk.models.channels import Attachment, ChatMessageKey, ChatSession, CustomerFeedback
from helpdesk.models.identity import VerificationMethod
from helpdesk.services import ticket_add_customer_message, ticket_add_note, ticket_create, ticket_resolve
from helpdesk.services_handoff import ticket_handoff
from helpdesk.services_identity import identity_verify
from helpdesk.ticket_states import InvalidTransition, _move

HUMAN_ASKED_REASON = "customer asked for a human"
NOT_SOLVED_REASON = "customer said it did not solve it"
MAX_CLIENT_ID_CHARS = 64

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_MAX_FILES = 3
ATTACHMENT_TYPES = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "text/plain": (".txt",),
}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def portal_url(ticket: Ticket) -> str:
    return site_url(reverse("portal:thread", args=[portal_token(ticket.pk)]))


def solved_url(ticket: Ticket, answer: str) -> str:
    """The "Did this solve it?" link for emails: GET shows a confirm button, POST acts."""
    return site_url(reverse("portal:solved", args=[portal_token(ticket.pk), answer]))


# ---------------------------------------------------------------------------- handoff


def _open_for_human(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    # A ticket waiting on the customer (pending) or new goes to the team's open queue; one in any
    # other state is with the team already.
    with suppress(InvalidTransition):
        _move(ticket=ticket, verb=ticket_states.OPEN_FOR_HUMAN, actor=actor, data={"reason": reason})
    return ticket_handoff(ticket=ticket, actor=actor, reason=reason)


@transaction.atomic
def ticket_customer_handoff(*, ticket: Ticket, actor: Actor, message: Message | None = None) -> Ticket:
    """The customer asked for a person: the ticket goes to the team now, the AI stays out."""
    ticket = _open_for_human(ticket=ticket, actor=actor, reason=HUMAN_ASKED_REASON)
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="customer.asked_for_human",
        data={"message": message.pk if message else None, "channel": ticket.channel},
    )
    return ticket


def _after_customer_message(*, ticket: Ticket, message: Message, actor: Actor) -> Ticket:
    if hooks.asks_for_human(message.body):
        return ticket_customer_handoff(ticket=ticket, actor=actor, message=message)
    return ticket


@transaction.atomic
def customer_message_post(*, ticket: Ticket, body: str) -> Message:
    """A customer replies on the portal; an ask for a human hands off at once.

    The portal link was e-mailed to the address on file, so a reply through it proves the
    customer (recorded with the message, before the Agent's run reads it)."""
    message = ticket_add_customer_message(ticket=ticket, body=body)
    actor = Actor.for_customer(ticket.customer)
    identity_verify(ticket=ticket, method=VerificationMethod.PORTAL, actor=actor, evidence={"message": message.pk})
    _after_customer_message(ticket=ticket, message=message, actor=actor)
    return message


# -------------------------------------------------------------------------------- chat


@dataclass(frozen=True)
class StartedSession:
    session: ChatSession
    token: str  # shown once to the widget; only its hash is stored


class IdentityReused(Exception):
    """The signed identity token already started a chat session (a replay)."""


@transaction.atomic
def chat_session_start(
    *, workspace: Workspace, email: str, name: str, identity_token_hash: str | None = None
) -> StartedSession:
    """A visitor opens the widget. With `identity_token_hash` (a signed identity token vouched
    for them) the session is verified; each token starts one session only."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Please give a valid email address."}) from None
    token = secrets.token_urlsafe(32)
    # A signed-in customer coming back (another page view, device or browser) continues their
    # open chat; a typed-in address proves nothing, so it never opens anyone's conversation.
    ticket = open_chat_ticket(workspace=workspace, email=email) if identity_token_hash is not None else None
    try:
        # A savepoint: the unique token hash refuses a replay without breaking the caller's transaction.
        with transaction.atomic():
            session = ChatSession.objects.create(
                workspace=workspace,
                token_hash=hash_token(token),
                email=email[:254],
                name=(name or "").strip()[:200],
                verified=identity_token_hash is not None,
                identity_token_hash=identity_token_hash,
                ticket=ticket,
            )
    except IntegrityError:
        if ChatSession.objects.filter(identity_token_hash=identity_token_hash).exists():
            raise IdentityReused from None
        raise
    return StartedSession(session=session, token=token)


def open_chat_ticket(*, workspace: Workspace, email: str) -> Ticket | None:
    """The customer's latest open chat ticket that a proof of identity backs: a conversation
    someone else started by typing this address is never shown to the signed-in customer."""
    return (
        Ticket.objects.for_workspace(workspace)
        .open()
        .filter(channel=Channel.CHAT, customer__email__iexact=email, verifications__customer__email__iexact=email)
        .order_by("-last_message_at", "-pk")
        .first()
    )


def chat_session_for_token(*, workspace: Workspace, token: str) -> ChatSession | None:
    if not token or len(token) > 200:
        return None
    return (
        ChatSession.objects.select_related("ticket").filter(workspace=workspace, token_hash=hash_token(token)).first()
    )


@dataclass(frozen=True)
class Posted:
    message: Message
    created: bool


@transaction.atomic
def chat_message_post(*, session: ChatSession, client_id: str, body: str) -> Posted:
    """Post a chat message exactly once per client id: a retry returns the same message.

    The session row lock serialises one visitor's posts, so a retry racing the original (or
    two first messages) can never create a second message or a second ticket.
    """
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise ValidationError({"client_id": f"A message id of 1 to {MAX_CLIENT_ID_CHARS} characters is required."})
    session = ChatSession.objects.select_for_update().get(pk=session.pk)
    existing = ChatMessageKey.objects.select_related("message").filter(session=session, client_id=client_id).first()
    if existing is not None:
        return Posted(existing.message, False)
    if session.ticket_id is None:
        ticket = ticket_create(
            workspace=session.workspace,
            channel=Channel.CHAT,
            customer_email=session.email,
            customer_name=session.name,
            subject="",
            body=body,
        )
        message = ticket.messages.get(kind=MessageKind.CUSTOMER)
        session.ticket = ticket
        session.save(update_fields=["ticket"])
        if session.verified:
            # Before the Agent's run (enqueued when this commits) reads the ticket's proofs.
            identity_verify(
                ticket=ticket,
                method=VerificationMethod.WIDGET_TOKEN,
                actor=Actor.for_customer(ticket.customer),
                evidence={"session": session.pk, "message": message.pk},
            )
        audit_record(
            workspace=ticket.workspace,
            ticket=ticket,
            actor=Actor.for_customer(ticket.customer),
            kind="chat.identity",
            data={
                "session": session.pk,
                "message": message.pk,
                "verified": session.verified,
                "method": "signed_token" if session.verified else "self_declared",
            },
        )
    else:
        message = ticket_add_customer_message(ticket=Ticket(pk=session.ticket_id), body=body)
        ticket = message.ticket  # as locked and read there, with its customer and workspace
    ChatMessageKey.objects.create(session=session, client_id=client_id, message=message)
    _after_customer_message(ticket=ticket, message=message, actor=Actor.for_customer(ticket.customer))
    return Posted(message, True)


# ------------------------------------------------------------- did this solve it?


def last_ai_reply(ticket: Ticket) -> Message | None:
    return (
        Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY, author_kind=AuthorKind.AI)
        .order_by("-created_at", "-pk")
        .first()
    )


@dataclass(frozen=True)
class FeedbackResult:
    feedback: CustomerFeedback
    created: bool


@transaction.atomic
def ticket_customer_feedback(
    *, ticket: Ticket, solved: bool, actor: Actor, message: Message | None = None, source: str = "chat"
) -> FeedbackResult:
    """The customer's answer to "Did this solve it?" after an AI reply (first answer wins).

    yes: the pending outcome is confirmed (billable) and the ticket resolved.
    no: the pending outcome is voided and the ticket goes to a person now, with a note that
    puts the AI's answer and the customer's words side by side.
    """
    ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket.pk)
    message = message or last_ai_reply(ticket)
    if message is None or message.ticket_id != ticket.pk or message.author_kind != AuthorKind.AI:
        raise ValidationError("There is no AI answer to give feedback on.")
    existing = CustomerFeedback.objects.filter(message=message).first()
    if existing is not None:
        return FeedbackResult(existing, False)
    feedback = CustomerFeedback.objects.create(ticket=ticket, message=message, solved=solved, source=source)
    # Billing confirms (solved) or voids (not solved) the AI's pending outcome in this transaction.
    outcome = hooks.customer_feedback.gather(hooks.FeedbackGiven(feedback=feedback, actor=actor)).get("outcome")
    if solved:
        audit_record(
            workspace=ticket.workspace,
            ticket=ticket,
            actor=actor,
            kind="customer.solved",
            data={"message": message.pk, "source": source, "outcome": outcome},
        )
        if ticket.status in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING):
            ticket_resolve(ticket=ticket, actor=actor, reason="customer confirmed the answer solved it")
        return FeedbackResult(feedback, True)
    words = (
        Message.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER, created_at__lte=message.created_at)
        .order_by("-created_at", "-pk")
        .first()
    )
    note = (
        "The customer said the AI's answer did NOT solve it; over to a person.\n\n"
        f"Customer's words:\n{words.body if words else '(none)'}\n\n"
        f"AI's answer:\n{message.body}"
    )
    ticket_add_note(
        ticket=ticket, body=note[: settings.OASIS_MAX_MESSAGE_CHARS], actor=Actor.system("customer-feedback")
    )
    ticket = _open_for_human(ticket=ticket, actor=actor, reason=NOT_SOLVED_REASON)
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="customer.not_solved",
        data={"message": message.pk, "source": source, "outcome": outcome},
    )
    return FeedbackResult(feedback, True)


# ------------------------------------------------------------------ contact form


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def validate_uploads(uploads: Sequence[Upload]) -> None:
    if len(uploads) > ATTACHMENT_MAX_FILES:
        raise ValidationError({"attachments": f"At most {ATTACHMENT_MAX_FILES} files."})
    for upload in uploads:
        name = upload.filename.lower()
        extensions = ATTACHMENT_TYPES.get(upload.content_type.split(";")[0].strip().lower())
        if extensions is None or not name.endswith(extensions):
            raise ValidationError({"attachments": f"{upload.filename}: only PDF, PNG, JPG and TXT files are accepted."})
        if len(upload.data) > ATTACHMENT_MAX_BYTES:
            raise ValidationError({"attachments": f"{upload.filename}: larger than 5 MB."})
        if not upload.data:
            raise ValidationError({"attachments": f"{upload.filename}: the file is empty."})


def _send_confirmation(ticket_id: int) -> None:
    ticket = Ticket.objects.select_related("workspace", "customer").get(pk=ticket_id)
    link = portal_url(ticket)
    body = (
        f"Hello {ticket.customer.name or ticket.customer.email},\n\n"
        f'We received your message "{ticket.subject}" (ticket #{ticket.number}).\n'
        f"Follow the conversation and reply here:\n{link}\n\n"
        f"This link is personal: anyone who has it can read this ticket. It works for 30 days.\n\n"
        f"{ticket.workspace.name}"
    )
    send_mail(
        subject=f"[#{ticket.number}] We received your message: {ticket.subject}"[:200],
        message=body,
        from_email=ticket.workspace.reply_address,
        recipient_list=[ticket.customer.email],
    )


@transaction.atomic
def contact_submit(
    *,
    workspace: Workspace,
    email: str,
    name: str,
    subject: str,
    body: str,
    uploads: Sequence[Upload] = (),
) -> Ticket:
    """The help center's contact form: a `web` ticket, its attachments, a confirmation email."""
    validate_uploads(uploads)
    ticket = ticket_create(
        workspace=workspace,
        channel=Channel.WEB,
        customer_email=email,
        customer_name=name,
        subject=subject,
        body=body,
    )
    message = ticket.messages.get(kind=MessageKind.CUSTOMER)
    for upload in uploads:
        Attachment.objects.create(
            ticket=ticket,
            message=message,
            filename=upload.filename[:200],
            content_type=upload.content_type[:100],
            size=len(upload.data),
            data=upload.data,
        )
    if uploads:
        audit_record(
            workspace=workspace,
            ticket=ticket,
            actor=Actor.for_customer(ticket.customer),
            kind="attachments.added",
            data={"message": message.pk, "files": [{"name": u.filename, "size": len(u.data)} for u in uploads]},
        )
    ticket = _after_customer_message(ticket=ticket, message=message, actor=Actor.for_customer(ticket.customer))
    transaction.on_commit(lambda: _send_confirmation(ticket.pk))
    return ticket


@transaction.atomic
def deflection_record(*, workspace: Workspace, article_slug: str, query: str) -> None:
    """A visitor of the contact form clicked a suggested article instead of writing to us."""
    audit_record(
        workspace=workspace,
        actor=Actor.system("helpcenter"),
        kind="helpcenter.deflected",
        data={"article": article_slug[:200], "query": query[:200]},
    )

"""Outbound replies by email, threaded so the customer's mail client keeps one conversation."""

from __future__ import annotations

from django.core.mail import EmailMessage

from helpdesk.models import AuthorKind, Channel, Message, MessageKind


def build_reply_email(message: Message) -> EmailMessage:
    ticket = message.ticket
    workspace = ticket.workspace
    earlier = list(
        ticket.messages.filter(created_at__lte=message.created_at)
        .exclude(pk=message.pk)
        .exclude(kind=MessageKind.NOTE)
        .exclude(email_message_id="")
        .values_list("email_message_id", flat=True)
    )
    headers = {"Message-ID": message.email_message_id, "Reply-To": workspace.reply_address}
    if earlier:
        headers["In-Reply-To"] = earlier[-1]
        # RFC 5322 §3.6.4: References lists the thread; keep it bounded for long tickets.
        headers["References"] = " ".join(earlier[-20:])
    return EmailMessage(
        subject=reply_subject(ticket.subject, number=ticket.number),
        body=message.body + _footer(message),
        from_email=f"{workspace.name} <{workspace.reply_address}>",
        to=[ticket.customer.email],
        headers=headers,
    )


def reply_subject(subject: str, *, number: int) -> str:
    # A subject typed into a web form may hold newlines; Django refuses those in headers
    # (header injection), which would fail the send on every retry.
    subject = " ".join(subject.split())
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    token = f"[#{number}]"
    return subject if token in subject else f"{subject} {token}"


def _footer(message: Message) -> str:
    """Links the customer can act on: "did this solve it?" under an AI answer, and the portal
    for web-form tickets (whose customers may not keep the thread in a mail client)."""
    from helpdesk.services_channels import portal_url, solved_url

    ticket = message.ticket
    lines = []
    if message.author_kind == AuthorKind.AI:
        lines += [
            "Did this answer solve your question?",
            f"  Yes, solved: {solved_url(ticket, 'yes')}",
            f"  No, I need a person: {solved_url(ticket, 'no')}",
        ]
    if ticket.channel == Channel.WEB:
        lines.append(f"Follow your request online: {portal_url(ticket)}")
    return "\n\n--\n" + "\n".join(lines) if lines else ""

"""Whether an AI draft still answers its ticket: the one reading for the Copilot's "Send as
is", the approvals and the Agent's own last check before it sends."""

from __future__ import annotations

from ai.models import AgentRun
from helpdesk.models import AuthorKind, Message, MessageKind, TicketStatus


def draft_outdated(run: AgentRun) -> str:
    """Why this draft must not be sent any more ('' while it still answers the conversation):
    the customer wrote again, someone replied after it, or the ticket is closed."""
    ticket = run.ticket
    if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return f"the ticket is {ticket.get_status_display().lower()}"
    if run.trigger_message_id is None:
        return ""
    # The run's own autosent reply is this draft going out, not a reply after it.
    later = Message.objects.filter(ticket_id=run.ticket_id, pk__gt=run.trigger_message_id).exclude(
        pk=run.reply_message_id or 0
    )
    if later.filter(kind=MessageKind.CUSTOMER).exists():
        return "the customer wrote again after this draft"
    reply = later.filter(kind=MessageKind.REPLY).order_by("pk").select_related("author_user").first()
    if reply is not None:
        who = (
            "the AI"
            if reply.author_kind == AuthorKind.AI
            else (reply.author_user.email if reply.author_user else "a person")
        )
        return f"{who} already replied after this draft"
    return ""

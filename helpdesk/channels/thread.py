"""A ticket's public thread as the customer sees it: their messages and public replies, never notes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, QuerySet

from helpdesk.channels.hours import waiting_notice
from helpdesk.models import AuthorKind, Message, MessageKind, Ticket, Workspace
from helpdesk.models.channels import ChatSession, CustomerFeedback
from helpdesk.services_identity import IDENTITY_NOT_VERIFIED

PUBLIC_KINDS = (MessageKind.CUSTOMER, MessageKind.REPLY)
# The AI handed the ticket to people (or its reply waits for a manager): say so to the customer.
HUMAN_PENDING_DECISIONS = ("escalate", "awaiting_approval", "draft")
PAGE = 200
IDENTITY_NOTICE = (
    "To look at or change your orders or account we need to confirm it's you: we've e-mailed a link "
    "to the address we have on file."
)
# The waiting notice depends on business hours as well as on the ticket: a version changes at
# least this often so a widget that sees nothing new still refreshes the notice.
NOTICE_REFRESH_S = 300


def public_messages(ticket: Ticket, *, after: int = 0) -> QuerySet[Message]:
    # Message ids grow in commit order within one ticket: every writer (customer message,
    # reply) inserts while holding the ticket's row lock, so `after=<last id seen>` never
    # skips a message that committed late.
    return (
        Message.objects.filter(ticket=ticket, kind__in=PUBLIC_KINDS, pk__gt=after)
        .select_related("author_user")
        # In the same query (outer joins, at most one row each): the widget's id for a posted
        # message, and the help-center articles an AI reply cites (kept on the Agent's run).
        .annotate(key_client_id=F("chat_key__client_id"), run_citations=F("sent_by_run__citations"))
        .order_by("pk")[:PAGE]
    )


def _author_name(message: Message) -> str:
    if message.author_kind == AuthorKind.CUSTOMER:
        return "You"
    if message.author_kind == AuthorKind.AI:
        return f"{message.ticket.workspace.name} assistant"
    if message.author_user is not None:
        return message.author_user.first_name or message.ticket.workspace.name
    return message.ticket.workspace.name


def message_json(
    message: Message, *, client_id: str = "", citations: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "id": message.pk,
        "kind": message.kind,
        "author": message.author_kind,
        "author_name": _author_name(message),
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "client_id": client_id,
        "citations": [
            {"n": c.get("n"), "title": str(c.get("title", "")), "url": str(c.get("url", ""))}
            for c in citations or []
            if isinstance(c, dict)
        ],
    }


@dataclass(frozen=True)
class Thread:
    """What the customer sees: the public messages after the ones they hold, and the state
    under the thread (a waiting notice, the feedback question)."""

    messages: list[dict[str, Any]]
    state: dict[str, Any]


def thread_read(ticket: Ticket, *, after: int = 0) -> Thread:
    """The messages after `after` and the thread's state, in two or three queries (every
    woken widget poll runs this)."""
    messages = list(public_messages(ticket, after=after))
    for m in messages:
        m.ticket = ticket  # the same row; avoids one query per message
    if messages and len(messages) < PAGE:
        last: Message | None = messages[-1]  # nothing newer: the page was not full
    else:
        last = (
            Message.objects.filter(ticket=ticket, kind__in=PUBLIC_KINDS)
            .order_by("-pk")
            .only("pk", "kind", "author_kind")
            .first()
        )
    return Thread(
        [
            message_json(
                m,
                client_id=getattr(m, "key_client_id", None) or "",
                citations=getattr(m, "run_citations", None) if m.author_kind == AuthorKind.AI else None,
            )
            for m in messages
        ],
        _state(ticket, last),
    )


def _state(ticket: Ticket, last: Message | None) -> dict[str, Any]:
    """What the customer should see under the thread, given its last public message."""
    notice = ""
    if last is not None and last.kind == MessageKind.CUSTOMER and ticket.ai_decision in HUMAN_PENDING_DECISIONS:
        notice = waiting_notice(ticket)
        if ticket.ai_reason.startswith(IDENTITY_NOT_VERIFIED):
            # The link itself goes only to the address on file, never into the chat.
            notice = f"{IDENTITY_NOTICE} {notice}"
    # All of the ticket's answers (a handful at most) in one query, newest first.
    answers = list(CustomerFeedback.objects.filter(ticket=ticket).order_by("-pk").values("message_id", "solved"))
    ask_feedback_for = None
    if last is not None and last.author_kind == AuthorKind.AI and all(a["message_id"] != last.pk for a in answers):
        ask_feedback_for = last.pk
    return {
        "status": ticket.status,
        "notice": notice,
        "ask_feedback_for": ask_feedback_for,
        "feedback": answers[0] if answers else None,
        "handed_off": ticket.ai_decision == "escalate",
    }


@dataclass(frozen=True)
class ThreadProbe:
    """What a widget poll needs to know before doing any real work: whose session, and has
    anything the customer sees changed since the version they hold."""

    session_id: int
    ticket_id: int | None
    version: str


def _probe_sql() -> str:
    # Plain SQL, composed once: this runs on every poll (and every step of a long-poll), where
    # building the ORM query would cost more than running it.
    return (
        "SELECT s.id, s.ticket_id, t.last_message_at, t.status, t.ai_decision, "  # noqa: S608 (table names)
        f"(SELECT max(f.id) FROM {CustomerFeedback._meta.db_table} f WHERE f.ticket_id = s.ticket_id) "
        f"FROM {ChatSession._meta.db_table} s "
        f"JOIN {Workspace._meta.db_table} w ON w.id = s.workspace_id "
        f"LEFT JOIN {Ticket._meta.db_table} t ON t.id = s.ticket_id "
        "WHERE w.slug = %s AND s.token_hash = %s"
    )


_PROBE_SQL = _probe_sql()


def thread_probe(*, workspace_slug: str, token_hash: str) -> ThreadProbe | None:
    """One indexed query: the session (by token hash, in this workspace) and its thread's version.

    Every change a customer can see moves the ticket's `last_message_at` (a public message),
    its status or its AI decision (the waiting notice, the hand-off), or adds a feedback row;
    so an unchanged version means an unchanged thread and state. Changes they can't see (the
    ticket's type, its assignee, a note) leave it alone, as they send no wake-up (the trigger
    in migration helpdesk/0004 watches the same columns).
    """
    with connection.cursor() as cursor:
        cursor.execute(_PROBE_SQL, [workspace_slug, token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    session_id, ticket_id, last_message_at, status, decision, last_feedback = row
    stamp = int(last_message_at.timestamp() * 1_000_000) if last_message_at is not None else 0
    bucket = int(time.time() // NOTICE_REFRESH_S)
    return ThreadProbe(
        int(session_id),
        int(ticket_id) if ticket_id is not None else None,
        f"{ticket_id or 0}.{stamp}.{status or ''}.{decision or ''}.{last_feedback or 0}.{bucket}",
    )

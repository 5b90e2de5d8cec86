"""The seams between the helpdesk and the apps that build on it (ai, billing).

`helpdesk` imports neither (an import-linter contract in pyproject.toml holds it); each app
registers, in its AppConfig.ready(), what runs on a helpdesk change and what it adds to the
helpdesk's pages: search, the Copilot's URLs and page context, drafts a reply starts from.
Handlers of a committed change run in `transaction.on_commit`, so they never see a change that
rolled back; the hooks marked INSIDE run in the changing transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.http import HttpRequest
    from django.urls import URLPattern

    from audit.services import Actor
    from helpdesk.models import CustomerFeedback, CustomerVerification, Membership, Message, Ticket, Workspace

T = TypeVar("T")
R = TypeVar("R")


class _Handlers(Generic[T, R]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[T], R]] = []

    def connect(self, handler: Callable[[T], R]) -> Callable[[T], R]:
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler


class Hook(_Handlers[T, None]):
    def fire(self, value: T) -> None:
        for handler in list(self._handlers):
            handler(value)


class Gather(_Handlers[T, dict[str, Any]]):
    """A hook whose handlers answer: their dicts merged, e.g. facts for the caller's audit row
    or the context a page adds."""

    def gather(self, value: T) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for handler in list(self._handlers):
            found.update(handler(value))
        return found


customer_message: Hook[Message] = Hook("customer_message")  # every inbound customer message
public_reply: Hook[Message] = Hook("public_reply")  # every public reply, human or AI
ticket_reopened: Hook[Ticket] = Hook("ticket_reopened")  # a staff member reopened a ticket
# Fired INSIDE the creating transaction so each app's defaults (approval rules, plans) are
# created atomically with the workspace.
workspace_created: Hook[Workspace] = Hook("workspace_created")
# A customer proved who they are after writing (a magic link clicked). Fired INSIDE that
# transaction, so what answers it (the Agent's one re-run) commits with the proof or not at all.
customer_verified: Hook[CustomerVerification] = Hook("customer_verified")
# The demo workspace is being seeded (INSIDE that transaction, before its live tickets): the
# other apps add their part of the demo (the AI's settings and history, invoices).
demo_seeded: Hook[Workspace] = Hook("demo_seeded")
# Help-center articles were created, edited or imported (INSIDE that transaction): the AI app
# re-indexes them after commit.
articles_changed: Hook[Sequence[int]] = Hook("articles_changed")


@dataclass(frozen=True)
class ReindexRequest:
    workspace: Workspace
    actor: Actor
    article_ids: Sequence[int]


# A manager asked (admin action) to re-check articles against the search index.
articles_reindex: Hook[ReindexRequest] = Hook("articles_reindex")


@dataclass(frozen=True)
class FeedbackGiven:
    feedback: CustomerFeedback
    actor: Actor


# The customer answered "Did this solve it?" (INSIDE that transaction, the ticket row locked):
# billing confirms or voids the pending outcome and answers {"outcome": id or None} for the
# audit row.
customer_feedback: Gather[FeedbackGiven] = Gather("customer_feedback")

# What the AI app adds to the inbox's pages: the list's context (a manager's approvals box), a
# ticket page's context (the live-update version key), and URLs under the inbox's namespace
# (the Copilot sidebar and the live poll).
inbox_page: Gather[Membership] = Gather("inbox_page")


@dataclass(frozen=True)
class TicketPage:
    request: HttpRequest
    ticket: Ticket


ticket_page: Gather[TicketPage] = Gather("ticket_page")
_inbox_urls: list[URLPattern] = []


def register_inbox_urls(patterns: Sequence[URLPattern]) -> None:
    _inbox_urls.extend(p for p in patterns if p not in _inbox_urls)


def inbox_urls() -> list[URLPattern]:
    return list(_inbox_urls)


def on_customer_message(handler: Callable[[Message], None]) -> Callable[[Message], None]:
    return customer_message.connect(handler)


def customer_message_committed(message: Message) -> None:
    customer_message.fire(message)


# "Does this message ask for a person?": one detector for every channel and the Agent. The AI
# app registers it (ai.agent.asks.asks_for_human); with none registered nothing is detected.
_human_ask_detectors: list[Callable[[str], bool]] = []


def register_human_ask_detector(detector: Callable[[str], bool]) -> None:
    if detector not in _human_ask_detectors:
        _human_ask_detectors.append(detector)


def asks_for_human(text: str) -> bool:
    return any(detector(text) for detector in _human_ask_detectors)


# --------------------------------------------------------------------- help-center search


class ArticleHit(Protocol):
    """A passage of a published article that answers a query."""

    @property
    def article_title(self) -> str: ...
    @property
    def article_slug(self) -> str: ...
    @property
    def heading_path(self) -> str: ...
    @property
    def anchor(self) -> str: ...
    @property
    def text(self) -> str: ...


ArticleSearch = Callable[..., Sequence[ArticleHit]]
_article_search: list[ArticleSearch] = []


def register_article_search(search: ArticleSearch) -> None:
    """The AI app's hybrid search answers the help center and the contact form; the last one
    registered wins."""
    _article_search.append(search)


def article_search(*, workspace: Workspace, query: str, k: int) -> Sequence[ArticleHit]:
    if not _article_search:
        return []
    return _article_search[-1](workspace=workspace, query=query, k=k)


# ------------------------------------------------------------------ replies from drafts


class ReplyDrafts(Protocol):
    """AI drafts a staff reply may start from (the Copilot's Insert, then Send)."""

    def draft_text(self, *, ticket: Ticket, run_id: int) -> str:
        """The draft of that run on that ticket, without citation markers; "" if none."""

    def reply(
        self, *, ticket: Ticket, run_id: int, body: str, user: AbstractBaseUser | AnonymousUser
    ) -> Message | None:
        """Send `body` as the reply that started from that draft; None if no such run."""


_reply_drafts: list[ReplyDrafts] = []


def register_reply_drafts(drafts: ReplyDrafts) -> None:
    _reply_drafts[:] = [drafts]


def reply_drafts() -> ReplyDrafts | None:
    return _reply_drafts[0] if _reply_drafts else None

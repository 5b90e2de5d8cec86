"""What every ticket importer produces, and the checks every row goes through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime

from helpdesk.models import Channel
from oasis.hygiene import strip_bad_chars

MAX_EXTERNAL_ID = 180  # a trial ticket keeps "trial:" + this within its 200 characters
FORMATS = ("jsonl", "zendesk", "freshdesk", "helpscout", "csv", "mbox", "maildir")
CUSTOMER, AGENT = "customer", "agent"


class TicketFormatError(Exception):
    """The file is not of the format it claims (or of any we read); the message says why."""


class RowError(ValueError):
    """One row cannot be used; the message lists its problems."""


@dataclass(frozen=True)
class ImportedMessage:
    author: str  # CUSTOMER or AGENT
    body: str
    created_at: dt.datetime | None = None


@dataclass(frozen=True)
class ImportedTicket:
    external_id: str
    channel: str
    subject: str
    customer_email: str
    customer_name: str
    created_at: dt.datetime | None
    messages: tuple[ImportedMessage, ...]
    closed: bool = False

    @property
    def body(self) -> str:
        """What the customer wrote before anyone answered: the question a trial drafts for."""
        opening: list[str] = []
        for message in self.messages:
            if message.author != CUSTOMER:
                break
            opening.append(message.body)
        return "\n\n".join(opening)

    @property
    def agent_reply(self) -> str:
        """The first answer the shop's own agent sent (shown beside the trial's draft)."""
        return next((m.body for m in self.messages if m.author == AGENT), "")


@dataclass
class ParseResult:
    format: str
    tickets: list[ImportedTicket] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def parse_datetime_text(value: str, *, name: str) -> dt.datetime:
    """An ISO 8601 date-time (a bare date means midnight UTC); naive means UTC."""
    text = value.strip()
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} {value!r} is not an ISO 8601 date-time") from None
        parsed = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def clean_text(value: Any) -> str:
    return strip_bad_chars(str(value or "")).strip()


class TicketBuilder:
    """Checks one row's fields and collects every problem, so a row's error names them all."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def external_id(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
            self.problems.append("missing external_id")
            return ""
        text = clean_text(value)
        if len(text) > MAX_EXTERNAL_ID:
            self.problems.append(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
        return text

    def channel(self, value: Any) -> str:
        channel = value or Channel.EMAIL
        if channel not in Channel.values:
            self.problems.append(f"channel {channel!r} is not one of {', '.join(Channel.values)}")
        return str(channel)

    def email(self, value: Any, *, name: str = "customer.email") -> str:
        email = clean_text(value)
        try:
            validate_email(email)
        except ValidationError:
            self.problems.append(f"{name} {email!r} is not an email address" if email else f"missing {name}")
        return email

    def when(self, value: Any, *, name: str = "created_at") -> dt.datetime | None:
        if value in (None, ""):
            return None
        try:
            return parse_datetime_text(str(value), name=name)
        except ValueError as exc:
            self.problems.append(str(exc))
            return None

    def build(
        self,
        *,
        external_id: str,
        channel: str,
        subject: Any,
        customer_email: str,
        customer_name: Any,
        created_at: dt.datetime | None,
        messages: Iterable[ImportedMessage],
        closed: bool = False,
        no_message: str = "no message from the customer",
    ) -> ImportedTicket:
        kept = tuple(m for m in messages if m.body.strip())
        if not kept or kept[0].author != CUSTOMER:
            self.problems.insert(0, no_message if not kept else "the first message is not the customer's")
        longest = max((len(m.body) for m in kept), default=0)
        if longest > settings.OASIS_MAX_MESSAGE_CHARS:
            self.problems.append(f"a message is longer than {settings.OASIS_MAX_MESSAGE_CHARS} characters")
        if not isinstance(subject, str | int | type(None)):
            self.problems.append("subject must be text")
            subject = ""
        if self.problems:
            raise RowError("; ".join(self.problems))
        return ImportedTicket(
            external_id=external_id,
            channel=channel,
            subject=clean_text(subject)[:300],
            customer_email=customer_email,
            customer_name=clean_text(customer_name)[:200],
            created_at=created_at,
            messages=kept,
            closed=closed,
        )


def add_unique(result: ParseResult, ticket: ImportedTicket, seen: set[str], label: str) -> None:
    if ticket.external_id in seen:
        result.errors.append(f"{label}: duplicate external_id {ticket.external_id!r}")
        return
    seen.add(ticket.external_id)
    result.tickets.append(ticket)

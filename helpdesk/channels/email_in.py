"""Inbound email: parse a raw RFC 822 message and file it on the right ticket.

Everything a mail provider or a Maildir hands us is untrusted bytes. Parsing turns it into a
small typed value (or a clear `EmailRejected`), and `ingest_email` threads it onto an existing
ticket or opens a new one through the helpdesk services, in one transaction. A sender the
workspace's trusted relay authenticated (helpdesk/channels/email_auth.py) is verified for the ticket;
the `From:` header alone proves nothing.
"""

from __future__ import annotations

import datetime
import email.errors
import email.header
import email.utils
import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from html.parser import HTMLParser

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction

from audit.services import Actor
from helpdesk.channels.email_auth import SenderAuth, sender_authentication
from helpdesk.models import Channel, Message, MessageKind, Ticket, Workspace
from helpdesk.models.identity import VerificationMethod
from helpdesk.services import ticket_add_customer_message, ticket_create
from helpdesk.services_identity import identity_verify, ticket_identity_verified
from oasis.hygiene import strip_bad_chars

# Errors the stdlib may raise on hostile headers or bodies, even with policy.default.
_PARSE_ERRORS = (ValueError, TypeError, IndexError, LookupError, AttributeError, email.errors.MessageError)

_MSGID_RE = re.compile(r"<[^<>\s]+>")
_TICKET_TOKEN_RE = re.compile(r"\[#(\d{1,9})\]")
# "On Tue, 3 Jun 2025 at 10:02, Support <help@acme.test> wrote:" (often wrapped over two lines).
_ATTRIBUTION_RE = re.compile(r"^\s*On\s.+\bwrote:\s*$", re.IGNORECASE | re.DOTALL)
_FORWARD_MARKERS = ("-----original message-----", "________________________________")


class EmailRejected(Exception):
    """An inbound message we will not file; `str()` is a human explanation, `code` a stable key."""

    def __init__(self, message: str, *, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ParsedEmail:
    from_email: str
    from_name: str
    subject: str
    body: str
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime.datetime | None = None


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    message: Message
    created: bool
    duplicate: bool

    @property
    def outcome(self) -> str:
        if self.duplicate:
            return "duplicate"
        return "created" if self.created else "appended"


# ---------------------------------------------------------------------------- parsing


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse untrusted message bytes; raise EmailRejected with a reason a human can act on."""
    limit = settings.OASIS_MAX_EMAIL_BYTES
    if len(raw) > limit:
        raise EmailRejected(f"The message is {len(raw)} bytes; the limit is {limit}.", code="too_large")
    if not raw.strip():
        raise EmailRejected("The message is empty.", code="empty")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        from_email, from_name = _sender(msg)
        parsed = ParsedEmail(
            from_email=from_email,
            from_name=from_name,
            subject=_one_line(_header(msg, "Subject"))[:300],
            body=strip_quoted(strip_bad_chars(_body_text(msg))),
            message_id=_first_id(_header(msg, "Message-ID")),
            in_reply_to=_ids(_header(msg, "In-Reply-To")),
            references=_ids(_header(msg, "References")),
            date=_date(_header(msg, "Date")),
        )
    except EmailRejected:
        raise
    except _PARSE_ERRORS as error:
        raise EmailRejected(f"The message could not be parsed: {error}") from error
    if not parsed.body:
        raise EmailRejected("The message has no text body.", code="empty")
    return parsed


def _sender(msg: EmailMessage) -> tuple[str, str]:
    header = msg.get("From")
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    if not addresses or not addresses[0].addr_spec.strip("<>"):
        raise EmailRejected("The message has no From address.", code="no_sender")
    address = addresses[0]
    addr_spec = strip_bad_chars(address.addr_spec)
    try:
        validate_email(addr_spec)
    except ValidationError:
        raise EmailRejected(f"The From address {addr_spec!r} is not valid.", code="no_sender") from None
    return addr_spec, _one_line(strip_bad_chars(address.display_name))[:200]


def _header(msg: EmailMessage, name: str) -> str:
    """A header as text fit to store: decoded as well as it can be, without NUL or lone surrogates.

    A mail with a header the stdlib cannot decode (an encoded word in a charset that yields
    surrogates, say) is still filed: losing the customer's message is worse than a rough subject.
    """
    try:
        value = str(msg.get(name, "") or "")
    except _PARSE_ERRORS:
        raw = next((str(v) for k, v in msg.raw_items() if k.lower() == name.lower()), "")
        value = _decode_words(raw)
    return strip_bad_chars(value)


def _decode_words(raw: str) -> str:
    try:
        chunks = email.header.decode_header(raw)
    except (email.errors.HeaderParseError, ValueError):
        return raw
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            parts.append(chunk)
            continue
        try:
            parts.append(chunk.decode(charset or "ascii", errors="replace"))
        except (LookupError, ValueError):
            parts.append(chunk.decode("utf-8", errors="replace"))
    return "".join(parts)


def _body_text(msg: EmailMessage) -> str:
    """Prefer the text/plain part; else the HTML part turned into inert text."""
    part = msg.get_body(preferencelist=("plain",))
    if part is not None:
        return _part_text(part)
    part = msg.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(_part_text(part))
    return ""


def _part_text(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except _PARSE_ERRORS:
        # An unknown or lying charset: the bytes as UTF-8, bad sequences replaced, not the mail lost.
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


def _date(value: str) -> datetime.datetime | None:
    """The Date header (a mailbox import keeps when each message was written); None if unreadable."""
    try:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _ids(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_MSGID_RE.findall(value)))[:50]


def _first_id(value: str) -> str:
    """Message-IDs are stored in their <bracketed> form, the way make_msgid writes ours."""
    found = _MSGID_RE.findall(value)
    if found:
        return str(found[0])[:998]
    bare = value.strip()
    return f"<{bare}>"[:998] if bare and " " not in bare else ""


class _TextExtractor(HTMLParser):
    """Keep only character data; drop script/style/head content entirely."""

    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "iframe", "object", "svg"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = (" ".join(line.split()) for line in "".join(extractor.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_quoted(text: str) -> str:
    """Drop the quoted history under a reply so the ticket shows what is new.

    If nothing but quotes remains we keep the whole text: losing a message is worse than
    showing history twice.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _starts_history(line, lines[index + 1] if index + 1 < len(lines) else ""):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    new_text = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return new_text or text.strip()


def _starts_history(line: str, next_line: str) -> bool:
    stripped = line.strip()
    if stripped.lower() in _FORWARD_MARKERS:
        return True
    if not stripped.lower().startswith("on "):
        return False
    # Mail clients wrap long attributions, so "wrote:" may sit on the next line.
    return bool(_ATTRIBUTION_RE.match(stripped) or _ATTRIBUTION_RE.match(f"{stripped} {next_line.strip()}"))


# -------------------------------------------------------------------------- ingesting


@transaction.atomic
def ingest_email(*, workspace: Workspace, raw: bytes) -> IngestResult:
    """File one inbound message: a duplicate, a reply on its ticket, or a new email ticket."""
    parsed = parse_email(raw)
    if parsed.from_email.lower() == workspace.reply_address.lower():
        # Our own reply bounced back into the inbox: filing it would loop forever.
        raise EmailRejected("The message comes from this workspace's own address.", code="loop")
    if parsed.message_id:
        _lock_message_id(workspace=workspace, message_id=parsed.message_id)
        existing = _existing_message(workspace=workspace, message_id=parsed.message_id)
        if existing is not None:
            return IngestResult(ticket=existing.ticket, message=existing, created=False, duplicate=True)
    auth = sender_authentication(raw=raw, from_email=parsed.from_email, authserv_id=workspace.mail_relay_authserv_id)
    try:
        result = _file(workspace=workspace, parsed=parsed, auth=auth)
    except ValidationError as error:
        # The services' validation (body too long, bad address) is a rejection like any other.
        raise EmailRejected(" ".join(error.messages)) from error
    if auth.passed:
        # In this transaction, so the Agent's run (enqueued when it commits) sees the proof.
        identity_verify(
            ticket=result.ticket,
            method=VerificationMethod.EMAIL_AUTH,
            actor=Actor.for_customer(result.ticket.customer),
            evidence={**auth.evidence(), "message": result.message.pk},
        )
    return result


def _file(*, workspace: Workspace, parsed: ParsedEmail, auth: SenderAuth) -> IngestResult:
    ticket = _thread_ticket(workspace=workspace, parsed=parsed, authenticated=bool(auth.passed))
    if ticket is None:
        ticket = ticket_create(
            workspace=workspace,
            channel=Channel.EMAIL,
            customer_email=parsed.from_email,
            customer_name=parsed.from_name,
            subject=parsed.subject,
            body=parsed.body,
            email_message_id=parsed.message_id,
        )
        return IngestResult(ticket=ticket, message=ticket.messages.get(), created=True, duplicate=False)
    message = ticket_add_customer_message(
        ticket=ticket, body=parsed.body, email_message_id=parsed.message_id, actor=Actor.for_customer(ticket.customer)
    )
    return IngestResult(ticket=message.ticket, message=message, created=False, duplicate=False)


def _lock_message_id(*, workspace: Workspace, message_id: str) -> None:
    # Two deliveries of the same message racing each other: the second waits for the first
    # to commit and then finds it, instead of both inserting.
    digest = hashlib.sha256(f"inbound:{workspace.pk}:{message_id}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _existing_message(*, workspace: Workspace, message_id: str) -> Message | None:
    return (
        Message.objects.filter(ticket__workspace=workspace, kind=MessageKind.CUSTOMER, email_message_id=message_id)
        .select_related("ticket")
        .order_by("id")
        .first()
    )


def _thread_ticket(*, workspace: Workspace, parsed: ParsedEmail, authenticated: bool) -> Ticket | None:
    # The newest id first: In-Reply-To, then References from the end of the chain.
    ids = list(dict.fromkeys([*parsed.in_reply_to, *reversed(parsed.references)]))
    if ids:
        # Only the ticket's own customer threads onto it: the AI's tools act on that
        # customer's account, so a stranger who learned a Message-ID gets a ticket of their own.
        match = (
            Message.objects.filter(
                ticket__workspace=workspace,
                email_message_id__in=ids,
                ticket__customer__email__iexact=parsed.from_email,
            )
            .select_related("ticket")
            .order_by("-created_at", "-id")
            .first()
        )
        if match is not None:
            return match.ticket
    token = _TICKET_TOKEN_RE.search(parsed.subject)
    if token is None:
        return None
    # A subject token is easy to type, so it only threads for the ticket's own customer.
    ticket = Ticket.objects.filter(
        workspace=workspace, number=int(token.group(1)), customer__email__iexact=parsed.from_email
    ).first()
    if ticket is not None and not authenticated and ticket_identity_verified(ticket):
        # The token and the From: address are both easy to forge: onto a ticket whose customer
        # is proven, only the Message-ID chain (which only their mailbox has) or the relay's
        # authentication threads a message; this one opens a ticket of its own.
        return None
    return ticket

"""Exports of the helpdesks a shop moves from: Zendesk, Freshdesk and Help Scout (their API's JSON).

Each reader checks the document's shape first (a clear TicketFormatError names what it expected),
then turns each ticket into the customer's messages and the agents' public replies, oldest first;
internal notes are left out. External ids carry the source ("zendesk:123"), so a re-import finds
what it already brought in.

- Zendesk: `{"tickets": [...], "users": [...]}` (users resolve the requester's e-mail), or one
  ticket a line (the JSON export); each ticket's `comments` inline, or a top-level `comments` list
  whose entries name their `ticket_id`; without comments, its `description` is the first message.
- Freshdesk: a list of tickets (or `{"tickets": [...]}`) as API v2 returns them with
  `include=requester`, each with its `conversations` (`incoming` tells the customer's).
- Help Scout: Mailbox API 2.0 pages (`{"_embedded": {"conversations": [...]}}`, one page or a list of
  pages) or a list of conversations, each with `_embedded.threads` (embed=threads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from helpdesk.channels.email_in import html_to_text
from helpdesk.ticket_import.base import (
    AGENT,
    CUSTOMER,
    ImportedMessage,
    ImportedTicket,
    ParseResult,
    RowError,
    TicketBuilder,
    TicketFormatError,
    add_unique,
    clean_text,
)
from oasis.hygiene import InputRejected, json_loads

Reader = Callable[[dict[str, Any], "Context"], ImportedTicket]


class Context:
    """What a reader needs besides the ticket itself (users, comments listed apart)."""

    def __init__(self, users: Iterable[Any] = (), comments: Iterable[Any] = ()) -> None:
        self.users = {u.get("id"): u for u in users if isinstance(u, dict)}
        self.comments: dict[Any, list[dict[str, Any]]] = {}
        for comment in comments:
            if isinstance(comment, dict):
                self.comments.setdefault(comment.get("ticket_id"), []).append(comment)


def load_document(text: str, *, name: str) -> Any:
    """The JSON document, or its lines' objects when it is one object a line (NDJSON)."""
    try:
        return json_loads(text, where=f"{name} export", allow_bad_chars=True)
    except InputRejected as exc:
        raise TicketFormatError(str(exc)) from None
    except ValueError:
        pass
    rows: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json_loads(line, where=f"{name} export", allow_bad_chars=True))
        except InputRejected as exc:
            raise TicketFormatError(f"line {number}: {exc}") from None
        except ValueError as exc:
            raise TicketFormatError(f"not a {name} export: not valid JSON (line {number}: {exc})") from None
    return rows


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    text = clean_text(value)
    return html_to_text(text) if "<" in text and ">" in text else text


def _by_time(items: Iterable[Any], key: str) -> list[dict[str, Any]]:
    rows = [i for i in items if isinstance(i, dict)]
    return sorted(rows, key=lambda r: str(r.get(key) or ""))  # ISO 8601 sorts as text; stable


def _run(rows: list[Any], read: Reader, context: Context, *, source: str, fmt: str, label: str) -> ParseResult:
    result = ParseResult(format=fmt)
    seen: set[str] = set()
    for position, raw in enumerate(rows, start=1):
        where = f"{source} {label} {position}"
        if isinstance(raw, dict) and raw.get("id") is not None:
            where = f"{source} {label} {raw['id']}"
        try:
            if not isinstance(raw, dict):
                raise RowError("is not an object")
            ticket = read(raw, context)
        except RowError as exc:
            result.errors.append(f"{where}: {exc}")
            continue
        add_unique(result, ticket, seen, where)
    return result


def _check_shape(rows: list[Any], needed: tuple[str, ...], expected: str) -> None:
    if not rows or not any(isinstance(r, dict) and all(k in r for k in needed) for r in rows[:20]):
        raise TicketFormatError(f"not {expected}")


# ------------------------------------------------------------------------------------ Zendesk

ZENDESK_CHANNELS = {"email": "email", "web": "web", "chat": "chat", "native_messaging": "chat", "api": "api"}


def _zendesk_ticket(raw: dict[str, Any], context: Context) -> ImportedTicket:
    row = TicketBuilder()
    requester_id = raw.get("requester_id")
    requester = _obj(raw.get("requester")) or _obj(context.users.get(requester_id))
    via = _obj(raw.get("via"))
    sender = _obj(_obj(via.get("source")).get("from"))
    email = row.email(requester.get("email") or sender.get("address"), name="requester email")
    comments = _list(raw.get("comments")) or context.comments.get(raw.get("id")) or []
    if not comments and raw.get("description"):
        comments = [{"author_id": requester_id, "body": raw["description"], "created_at": raw.get("created_at")}]
    messages = []
    for comment in _by_time(comments or [], "created_at"):
        if comment.get("public") is False:
            continue  # an internal note: never the customer's, never a reply
        body = _text(comment.get("plain_body") or comment.get("body") or comment.get("html_body"))
        author = CUSTOMER if comment.get("author_id") == requester_id else AGENT
        messages.append(ImportedMessage(author, body, row.when(comment.get("created_at"))))
    return row.build(
        external_id=row.external_id(f"zendesk:{raw.get('id')}"),
        channel=ZENDESK_CHANNELS.get(str(via.get("channel") or ""), "email"),
        subject=raw.get("subject") or raw.get("raw_subject") or "",
        customer_email=email,
        customer_name=requester.get("name") or sender.get("name") or "",
        created_at=row.when(raw.get("created_at")),
        messages=messages,
        closed=raw.get("status") in ("solved", "closed"),
    )


def parse_zendesk(text: str, *, source: str = "export") -> ParseResult:
    data = load_document(text, name="Zendesk")
    expected = 'a Zendesk tickets export: {"tickets": [...]} or one ticket a line, each with an id and a requester_id'
    users: list[Any] = []
    comments: list[Any] = []
    if isinstance(data, dict) and isinstance(data.get("tickets"), list):
        rows = data["tickets"]
        users = _list(data.get("users"))
        comments = _list(data.get("comments"))
    elif isinstance(data, list):
        rows = data
    else:
        raise TicketFormatError(f"not {expected}")
    _check_shape(rows, ("id", "requester_id"), expected)
    return _run(rows, _zendesk_ticket, Context(users, comments), source=source, fmt="zendesk", label="ticket")


# ---------------------------------------------------------------------------------- Freshdesk

FRESHDESK_CHANNELS = {1: "email", 2: "web", 7: "chat", 9: "web", 10: "email"}


def _freshdesk_ticket(raw: dict[str, Any], context: Context) -> ImportedTicket:
    row = TicketBuilder()
    requester = _obj(raw.get("requester"))
    email = row.email(requester.get("email") or raw.get("email"), name="requester email")
    first = _text(raw.get("description_text") or raw.get("description"))
    messages = [ImportedMessage(CUSTOMER, first, row.when(raw.get("created_at")))]
    for reply in _by_time(raw.get("conversations") or [], "created_at"):
        if reply.get("private") is True:
            continue
        author = CUSTOMER if reply.get("incoming") is True else AGENT
        body = _text(reply.get("body_text") or reply.get("body"))
        messages.append(ImportedMessage(author, body, row.when(reply.get("created_at"))))
    return row.build(
        external_id=row.external_id(f"freshdesk:{raw.get('id')}"),
        channel=FRESHDESK_CHANNELS.get(raw["source"] if isinstance(raw.get("source"), int) else 1, "email"),
        subject=raw.get("subject") or "",
        customer_email=email,
        customer_name=requester.get("name") or raw.get("name") or "",
        created_at=row.when(raw.get("created_at")),
        messages=messages,
        closed=raw.get("status") in (4, 5),
    )


def parse_freshdesk(text: str, *, source: str = "export") -> ParseResult:
    data = load_document(text, name="Freshdesk")
    rows = data.get("tickets") if isinstance(data, dict) else data
    expected = "a Freshdesk export: a list of tickets (API v2, include=requester) with id, requester and description"
    if not isinstance(rows, list):
        raise TicketFormatError(f"not {expected}")
    _check_shape(rows, ("id", "requester"), expected)
    return _run(rows, _freshdesk_ticket, Context(), source=source, fmt="freshdesk", label="ticket")


# --------------------------------------------------------------------------------- Help Scout

HELPSCOUT_CHANNELS = {"email": "email", "chat": "chat", "beacon": "chat", "web": "web", "api": "api"}
HELPSCOUT_MESSAGES = ("customer", "message", "reply", "chat")


def _helpscout_conversation(raw: dict[str, Any], context: Context) -> ImportedTicket:
    row = TicketBuilder()
    customer = _obj(raw.get("primaryCustomer")) or _obj(raw.get("customer"))
    email = row.email(customer.get("email"), name="customer email")
    threads = _list(_obj(raw.get("_embedded")).get("threads")) or _list(raw.get("threads"))
    messages = []
    for thread in _by_time(threads, "createdAt"):
        if thread.get("type") not in HELPSCOUT_MESSAGES:
            continue  # notes, line items (status changes), forwards
        creator = _obj(thread.get("createdBy"))
        author = CUSTOMER if thread.get("type") == "customer" or creator.get("type") == "customer" else AGENT
        messages.append(ImportedMessage(author, _text(thread.get("body")), row.when(thread.get("createdAt"))))
    source_type = _obj(raw.get("source")).get("type")
    name = " ".join(str(customer.get(k) or "") for k in ("first", "last")).strip()
    return row.build(
        external_id=row.external_id(f"helpscout:{raw.get('id')}"),
        channel=HELPSCOUT_CHANNELS.get(str(source_type or ""), "email"),
        subject=raw.get("subject") or "",
        customer_email=email,
        customer_name=name,
        created_at=row.when(raw.get("createdAt")),
        messages=messages,
        closed=raw.get("status") == "closed",
    )


def _helpscout_rows(data: Any) -> list[Any] | None:
    pages = data if isinstance(data, list) else [data]
    rows: list[Any] = []
    for page in pages:
        if isinstance(page, dict) and isinstance(page.get("_embedded"), dict) and "conversations" in page["_embedded"]:
            rows.extend(page["_embedded"]["conversations"] or [])
        elif isinstance(page, dict) and ("threads" in page or "primaryCustomer" in page):
            rows.append(page)
        else:
            return None
    return rows


def parse_helpscout(text: str, *, source: str = "export") -> ParseResult:
    data = load_document(text, name="Help Scout")
    rows = _helpscout_rows(data)
    expected = 'a Help Scout export: Mailbox API pages {"_embedded": {"conversations": [...]}} with embedded threads'
    if rows is None:
        raise TicketFormatError(f"not {expected}")
    _check_shape(rows, ("id", "primaryCustomer"), expected)
    return _run(rows, _helpscout_conversation, Context(), source=source, fmt="helpscout", label="conversation")


def sniff_json(text: str) -> str:
    """Which helpdesk a JSON export comes from, from its shape ("" when none fits)."""
    try:
        data = load_document(text, name="tickets")
    except TicketFormatError:
        return ""
    if isinstance(data, dict) and isinstance(data.get("tickets"), list):
        rows: Any = data["tickets"]
    elif _helpscout_rows(data):
        return "helpscout"
    else:
        rows = data if isinstance(data, list) else []
    sample = next((r for r in rows if isinstance(r, dict)), {})
    if "requester_id" in sample:
        return "zendesk"
    if "requester" in sample or "description_text" in sample:
        return "freshdesk"
    if "external_id" in sample and "body" in sample:
        return "jsonl"
    return ""


__all__ = ["parse_freshdesk", "parse_helpscout", "parse_zendesk", "sniff_json"]

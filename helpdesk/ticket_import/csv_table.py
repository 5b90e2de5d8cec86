"""A CSV of tickets from a spreadsheet, with the columns mapped to our fields on the page.

`csv_preview` reads the header and the first rows and guesses the mapping from the column names;
the person confirms or changes it; `parse_csv` then reads every row with that mapping. The body
(the customer's message) and the customer's e-mail must be mapped; a row without an id gets
its row number.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from helpdesk.ticket_import.base import (
    AGENT,
    CUSTOMER,
    ImportedMessage,
    ParseResult,
    RowError,
    TicketBuilder,
    TicketFormatError,
    add_unique,
    clean_text,
)

FIELDS = (
    ("external_id", "Ticket id"),
    ("subject", "Subject"),
    ("body", "Customer's message"),
    ("customer_email", "Customer e-mail"),
    ("customer_name", "Customer name"),
    ("created_at", "Created at"),
    ("channel", "Channel"),
    ("agent_reply", "Your agent's reply"),
)
REQUIRED = ("body", "customer_email")
# Column names people give each field, compared folded (lower case, letters and digits only).
SYNONYMS = {
    "external_id": ("id", "ticketid", "ticket", "ticketnumber", "number", "externalid", "conversationid"),
    "subject": ("subject", "title", "topic"),
    "body": ("body", "description", "message", "question", "customermessage", "text", "content", "comment"),
    "customer_email": ("email", "customeremail", "requesteremail", "from", "fromemail", "emailaddress", "requester"),
    "customer_name": ("name", "customername", "requestername", "customer", "fromname", "fullname"),
    "created_at": ("createdat", "created", "date", "createddate", "datecreated", "timestamp", "time"),
    "channel": ("channel", "source", "via"),
    "agent_reply": ("agentreply", "reply", "answer", "response", "firstreply", "agentresponse"),
}
PREVIEW_ROWS = 5


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass
class CsvPreview:
    headers: list[str]
    rows: list[list[str]]
    mapping: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","


def _reader(text: str) -> tuple[csv.DictReader[str], str]:
    sample = text[:20000]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    csv.field_size_limit(max(csv.field_size_limit(), int(settings.OASIS_MAX_MESSAGE_CHARS) * 4))
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if not reader.fieldnames or len([h for h in reader.fieldnames if h and h.strip()]) < 2:
        raise TicketFormatError("not a CSV table: the first line must name the columns (at least two)")
    return reader, delimiter


def guess_mapping(headers: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    folded = {h: _fold(h) for h in headers}
    for name, words in SYNONYMS.items():
        for word in words:
            match = next((h for h, f in folded.items() if f == word and h not in mapping.values()), None)
            if match is not None:
                mapping[name] = match
                break
    return mapping


def csv_preview(text: str) -> CsvPreview:
    reader, delimiter = _reader(text)
    headers = [h for h in reader.fieldnames or [] if h is not None]
    rows: list[list[str]] = []
    try:
        for raw in reader:
            rows.append([clean_text(raw.get(h))[:200] for h in headers])
            if len(rows) >= PREVIEW_ROWS:
                break
    except csv.Error as exc:
        raise TicketFormatError(f"not a readable CSV table ({exc})") from None
    return CsvPreview(headers=headers, rows=rows, mapping=guess_mapping(headers), delimiter=delimiter)


def check_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    known = dict(FIELDS)
    clean = {k: v for k, v in mapping.items() if k in known and v}
    for name, column in clean.items():
        if column not in headers:
            raise TicketFormatError(f"{known[name]}: the file has no column {column!r}")
    missing = [known[name] for name in REQUIRED if name not in clean]
    if missing:
        raise TicketFormatError("map a column to " + " and to ".join(missing))
    return clean


CHANNEL_WORDS = (
    ("chat", "chat"),
    ("messag", "chat"),
    ("web", "web"),
    ("form", "web"),
    ("portal", "web"),
    ("api", "api"),
)


def _channel(value: str) -> str:
    word = value.strip().lower()
    if not word or "mail" in word:
        return "email"
    return next((channel for part, channel in CHANNEL_WORDS if part in word), word)


def _row(raw: dict[str, Any], mapping: dict[str, str], line: int) -> Any:
    def cell(name: str) -> str:
        return clean_text(raw.get(mapping[name])) if name in mapping else ""

    row = TicketBuilder()
    created_at = row.when(cell("created_at"))
    messages = [ImportedMessage(CUSTOMER, cell("body"), created_at)]
    if cell("agent_reply"):
        messages.append(ImportedMessage(AGENT, cell("agent_reply")))
    return row.build(
        external_id=row.external_id(cell("external_id") or f"row-{line}"),
        channel=row.channel(_channel(cell("channel"))),
        subject=cell("subject"),
        customer_email=row.email(cell("customer_email"), name="customer e-mail"),
        customer_name=cell("customer_name"),
        created_at=created_at,
        messages=messages,
        no_message="the customer's message is empty",
    )


def parse_csv(text: str, *, mapping: dict[str, str] | None = None, source: str = "tickets.csv") -> ParseResult:
    reader, _ = _reader(text)
    headers = [h for h in reader.fieldnames or [] if h is not None]
    mapping = check_mapping(mapping if mapping is not None else guess_mapping(headers), headers)
    result = ParseResult(format="csv")
    seen: set[str] = set()
    try:
        for index, raw in enumerate(reader):
            label = f"{source} row {index + 2}"
            try:
                ticket = _row(raw, mapping, index + 2)
            except RowError as exc:
                result.errors.append(f"{label}: {exc}")
                continue
            add_unique(result, ticket, seen, label)
    except csv.Error as exc:
        raise TicketFormatError(f"not a readable CSV table ({exc})") from None
    return result

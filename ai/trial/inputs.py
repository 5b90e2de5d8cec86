"""Trial inputs: the DESIGN.md formats ("Trial: 20 drafts on real tickets") and every ticket format
the importers read (helpdesk.ticket_import).

A bad ticket row never stops the trial: it is reported with its line (or row, or ticket id) and
the reason, and the other rows run. The orders file is all or nothing (the shop loader).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from helpdesk.shop import orders_validate
from helpdesk.ticket_import import ImportedTicket, TicketFormatError, read_tickets_file
from helpdesk.ticket_import.base import parse_datetime_text
from helpdesk.ticket_import.jsonl import parse_jsonl

__all__ = ["InputError", "TicketInput", "parse_datetime_text", "parse_tickets", "read_orders", "read_tickets"]


class InputError(Exception):
    """An input file cannot be used at all; the message says which and why."""


# A trial ticket is one the importers read (helpdesk.ticket_import): the JSON Lines of the design,
# a helpdesk's export, a CSV or a mailbox.
TicketInput = ImportedTicket


def parse_tickets(text: str, *, source: str = "tickets") -> tuple[list[ImportedTicket], list[str]]:
    """(tickets, errors) of our JSON Lines: one error per unusable line, e.g. "tickets.jsonl line 4: ..."."""
    parsed = parse_jsonl(text, source=source)
    return parsed.tickets, parsed.errors


def read_tickets(
    path: Path,
    *,
    fmt: str = "auto",
    csv_mapping: dict[str, str] | None = None,
    support_addresses: Iterable[str] = (),
) -> tuple[list[ImportedTicket], list[str]]:
    try:
        parsed = read_tickets_file(path, fmt=fmt, csv_mapping=csv_mapping, support_addresses=support_addresses)
    except TicketFormatError as exc:
        raise InputError(f"tickets: {exc}") from None
    return parsed.tickets, parsed.errors


def read_orders(path: Path, *, default_currency: str = "USD") -> dict[str, Any]:
    """The orders document, checked; InputError lists every problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such orders file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    try:
        orders_validate(data, default_currency=default_currency)
    except ValidationError as exc:
        raise InputError(f"{path}: " + "; ".join(exc.messages[:20])) from None
    return dict(data)

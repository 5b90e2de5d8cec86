"""Trial inputs in the DESIGN.md formats ("Trial: 20 drafts on real tickets").

Tickets are JSON Lines; a bad line never stops the trial: it is reported with its line number
and the reason, and the other lines run. The orders file is all or nothing (the shop loader).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.dateparse import parse_datetime

from helpdesk.models import Channel
from helpdesk.shop import orders_validate

MAX_EXTERNAL_ID = 180  # the ticket keeps "trial:" + this within its 200 characters


class InputError(Exception):
    """An input file cannot be used at all; the message says which and why."""


@dataclass(frozen=True)
class TicketInput:
    external_id: str
    channel: str
    subject: str
    body: str
    customer_email: str
    customer_name: str
    created_at: dt.datetime | None
    line: int


def parse_datetime_text(value: str, *, name: str) -> dt.datetime:
    """An ISO 8601 date-time (a bare date means midnight UTC); naive means UTC."""
    text = value.strip()
    parsed = parse_datetime(text)
    if parsed is None:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} {value!r} is not an ISO 8601 date-time") from None
        parsed = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _ticket(raw: Any, line: int) -> TicketInput:
    if not isinstance(raw, dict):
        raise ValueError("is not a JSON object")
    problems: list[str] = []
    external_id = raw.get("external_id")
    if isinstance(external_id, bool) or not isinstance(external_id, str | int) or str(external_id).strip() == "":
        problems.append("missing external_id")
        external_id = ""
    external_id = str(external_id).strip()
    if len(external_id) > MAX_EXTERNAL_ID:
        problems.append(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    channel = raw.get("channel") or Channel.EMAIL
    if channel not in Channel.values:
        problems.append(f"channel {channel!r} is not one of {', '.join(Channel.values)}")
    body = raw.get("body")
    if not isinstance(body, str) or not body.strip():
        problems.append("missing body")
        body = ""
    subject = raw.get("subject") or ""
    if not isinstance(subject, str):
        problems.append("subject must be text")
        subject = ""
    customer = raw.get("customer")
    email, name = "", ""
    if not isinstance(customer, dict):
        problems.append("missing customer (an object with email and name)")
    else:
        email = str(customer.get("email") or "").strip()
        name = str(customer.get("name") or "").strip()
        try:
            validate_email(email)
        except ValidationError:
            problems.append(f"customer.email {email!r} is not an email address" if email else "missing customer.email")
    created_at: dt.datetime | None = None
    if raw.get("created_at") not in (None, ""):
        try:
            created_at = parse_datetime_text(str(raw["created_at"]), name="created_at")
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    return TicketInput(
        external_id=external_id,
        channel=str(channel),
        subject=subject.strip()[:300],
        body=body,
        customer_email=email,
        customer_name=name[:200],
        created_at=created_at,
        line=line,
    )


def parse_tickets(text: str, *, source: str = "tickets") -> tuple[list[TicketInput], list[str]]:
    """(tickets, errors): one error per unusable line, e.g. "tickets.jsonl line 4: not valid JSON ..."."""
    tickets: list[TicketInput] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            raw = json.loads(raw_line)
        except json.JSONDecodeError as exc:
            errors.append(f"{source} line {number}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            ticket = _ticket(raw, number)
        except ValueError as exc:
            errors.append(f"{source} line {number}: {exc}")
            continue
        if ticket.external_id in seen:
            errors.append(f"{source} line {number}: duplicate external_id {ticket.external_id!r}")
            continue
        seen.add(ticket.external_id)
        tickets.append(ticket)
    return tickets, errors


def read_tickets(path: Path) -> tuple[list[TicketInput], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such tickets file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    return parse_tickets(text, source=path.name)


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

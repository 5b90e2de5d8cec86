"""Our own JSON Lines (DESIGN.md "Trial"): one ticket a line, `external_id`, `channel`, `subject`,
`body`, `customer` (`email`, `name`), `created_at`; an optional `agent_reply` (what the shop's agent
answered) is kept for the trial report; other keys are ignored."""

from __future__ import annotations

import json
from typing import Any

from helpdesk.ticket_import.base import (
    AGENT,
    CUSTOMER,
    ImportedMessage,
    ImportedTicket,
    ParseResult,
    RowError,
    TicketBuilder,
    add_unique,
    clean_text,
)


def _ticket(raw: Any) -> ImportedTicket:
    if not isinstance(raw, dict):
        raise RowError("is not a JSON object")
    row = TicketBuilder()
    external_id = row.external_id(raw.get("external_id"))
    channel = row.channel(raw.get("channel"))
    body = raw.get("body")
    if not isinstance(body, str):
        body = ""
    customer = raw.get("customer")
    email, name = "", ""
    if not isinstance(customer, dict):
        row.problems.append("missing customer (an object with email and name)")
    else:
        email = row.email(customer.get("email"))
        name = clean_text(customer.get("name"))
    created_at = row.when(raw.get("created_at"))
    messages = [ImportedMessage(CUSTOMER, clean_text(body), created_at)]
    if isinstance(raw.get("agent_reply"), str):
        messages.append(ImportedMessage(AGENT, clean_text(raw["agent_reply"])))
    return row.build(
        external_id=external_id,
        channel=channel,
        subject=raw.get("subject") or "",
        customer_email=email,
        customer_name=name,
        created_at=created_at,
        messages=messages,
        no_message="missing body",
    )


def parse_jsonl(text: str, *, source: str = "tickets") -> ParseResult:
    """One error per unusable line, e.g. "tickets.jsonl line 4: not valid JSON ..."."""
    result = ParseResult(format="jsonl")
    seen: set[str] = set()
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        label = f"{source} line {number}"
        try:
            raw = json.loads(raw_line)
        except json.JSONDecodeError as exc:
            result.errors.append(f"{label}: not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except RecursionError:
            result.errors.append(f"{label}: nested too deeply")
            continue
        try:
            ticket = _ticket(raw)
        except RowError as exc:
            result.errors.append(f"{label}: {exc}")
            continue
        add_unique(result, ticket, seen, label)
    return result

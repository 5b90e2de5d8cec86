"""A mailbox (an mbox file or a Maildir folder) as tickets: one ticket per thread.

Each message goes through the inbound e-mail parser (helpdesk.channels.email_in.parse_email: the same
size cap, charset handling and quoted-history stripping as live mail). Messages join a thread by
In-Reply-To / References; a message from one of the shop's own addresses is its agent's reply, any
other is the customer's. A message the parser refuses is reported with its reason.
"""

from __future__ import annotations

import hashlib
import mailbox
from collections.abc import Iterable, Iterator
from pathlib import Path

from helpdesk.channels.email_in import EmailRejected, ParsedEmail, parse_email
from helpdesk.ticket_import.base import (
    AGENT,
    CUSTOMER,
    MAX_EXTERNAL_ID,
    ImportedMessage,
    ParseResult,
    RowError,
    TicketBuilder,
    TicketFormatError,
    add_unique,
)


def open_mailbox(path: Path) -> mailbox.Mailbox:
    if path.is_dir():
        if not ((path / "cur").is_dir() and (path / "new").is_dir()):
            raise TicketFormatError(f"{path.name} is a folder but not a Maildir (no cur/ and new/)")
        return mailbox.Maildir(path, factory=None, create=False)
    if path.is_file():
        with path.open("rb") as fh:
            if not fh.read(5) == b"From ":
                raise TicketFormatError(f"{path.name} is not an mbox file (it must start with a 'From ' line)")
        return mailbox.mbox(path, create=False)
    raise TicketFormatError(f"{path} does not exist")


def mailbox_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(key, raw bytes) of every message; Maildir keys sorted so an original comes before its reply."""
    box = open_mailbox(path)
    try:
        keys = box.keys()
        if isinstance(box, mailbox.Maildir):
            keys = sorted(keys)
        for key in keys:
            yield str(key), box.get_bytes(key)
    finally:
        box.close()


def _thread_id(message: ParsedEmail, key: str) -> str:
    root = message.references[0] if message.references else message.message_id or f"<{key}>"
    text = f"mail:{root.strip('<>')}"
    if len(text) > MAX_EXTERNAL_ID:
        text = "mail:" + hashlib.sha256(root.encode()).hexdigest()
    return text


def parse_mailbox(path: Path, *, support_addresses: Iterable[str] = (), source: str = "mailbox") -> ParseResult:
    ours = {a.strip().lower() for a in support_addresses if a.strip()}
    fmt = "maildir" if path.is_dir() else "mbox"
    result = ParseResult(format=fmt)
    threads: dict[str, list[ParsedEmail]] = {}
    by_message_id: dict[str, str] = {}
    for key, raw in mailbox_messages(path):
        try:
            parsed = parse_email(raw)
        except EmailRejected as exc:
            result.errors.append(f"{source} message {key}: {exc}")
            continue
        known = [by_message_id[i] for i in (*parsed.in_reply_to, *reversed(parsed.references)) if i in by_message_id]
        thread = known[0] if known else _thread_id(parsed, key)
        threads.setdefault(thread, []).append(parsed)
        if parsed.message_id:
            by_message_id[parsed.message_id] = thread
    seen: set[str] = set()
    for thread_id, messages in threads.items():
        label = f"{source} thread {thread_id}"
        row = TicketBuilder()
        first = messages[0]
        customer = next((m for m in messages if m.from_email.lower() not in ours), first)
        try:
            ticket = row.build(
                external_id=row.external_id(thread_id),
                channel="email",
                subject=first.subject,
                customer_email=row.email(customer.from_email, name="sender"),
                customer_name=customer.from_name,
                created_at=first.date,
                messages=[
                    ImportedMessage(AGENT if m.from_email.lower() in ours else CUSTOMER, m.body, m.date)
                    for m in messages
                ],
            )
        except RowError as exc:
            result.errors.append(f"{label}: {exc}")
            continue
        add_unique(result, ticket, seen, label)
    return result

"""A ticket's audit trail shaped for reading: "what happened and why".

Events come in seq order from one query (plus one for the message bodies they point at). The
card builders the apps above register (`audit.hooks`) gather events into cards, each placed
where its first event was recorded; every other event stays a plain chronological entry
between the cards. Nothing here trusts event data: templates escape it, and links are kept only
for http(s) or site-relative URLs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audit.hooks import TimelineCard, card_builders
from audit.models import AuditEvent
from helpdesk.models import Message, Ticket

PLAIN_WORDS = {
    "ticket.created": "Ticket created",
    "message.received": "Customer wrote",
    "message.replied": "Reply sent",
    "note.added": "Internal note",
    "ticket.assigned": "Assigned",
    "ticket.type_set": "Ticket type set",
    "ticket.resolved": "Resolved",
    "ticket.opened": "Opened for a person",
    "ticket.reopened": "Reopened",
    "ticket.closed": "Closed",
    "customer.created": "Customer created",
    "feedback.recorded": "Feedback",
}


def safe_url(value: Any) -> str:
    """Only http(s) and site-relative links are rendered as links (no javascript:, data:, ...)."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")) or (url.startswith("/") and not url.startswith("//")):
        return url
    return ""


@dataclass
class Entry:
    """One event, with the pieces a template needs and its raw JSON."""

    event: AuditEvent
    title: str
    message_body: str | None = None

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data if isinstance(self.event.data, dict) else {}

    @property
    def raw(self) -> str:
        return json.dumps(
            {"seq": self.event.seq, "kind": self.event.kind, "actor": self.event.actor, "data": self.event.data},
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )


@dataclass
class PlainItem:
    entry: Entry
    template = ""  # a card names the include that renders it; a plain entry has none

    @property
    def seq(self) -> int:
        return self.entry.event.seq


@dataclass
class Timeline:
    ticket: Ticket
    items: list[TimelineCard | PlainItem]
    event_count: int
    card_counts: list[tuple[str, int]]  # (noun, how many) per registered card builder


def card_anchor(data: Mapping[str, Any]) -> str:
    """The id of the timeline card that shows an event with this data, "" if it stays plain."""
    return next((anchor for builder in card_builders() if (anchor := builder.anchor(data))), "")


def _title(event: AuditEvent) -> str:
    return PLAIN_WORDS.get(event.kind, event.kind.replace(".", " · ").replace("_", " "))


def build_timeline(ticket: Ticket) -> Timeline:
    """Every event of the ticket in seq order, gathered into the registered cards. Two queries."""
    events = list(AuditEvent.objects.for_ticket(ticket.pk).order_by("seq"))
    message_ids = {
        e.data["message"]
        for e in events
        if isinstance(e.data, dict)
        and isinstance(e.data.get("message"), int)
        and not isinstance(e.data["message"], bool)
    }
    bodies = (
        dict(Message.objects.filter(ticket=ticket, pk__in=message_ids).values_list("pk", "body")) if message_ids else {}
    )
    entries = []
    for event in events:
        message_id = event.data.get("message") if isinstance(event.data, dict) else None
        entries.append(Entry(event, _title(event), bodies.get(message_id) if isinstance(message_id, int) else None))
    cards: list[TimelineCard] = []
    card_counts: list[tuple[str, int]] = []
    claimed: set[int] = set()
    for builder in card_builders():
        built = builder.build([entry for entry in entries if entry.event.seq not in claimed])
        for card in built:
            claimed |= card.claims
        cards.extend(built)
        card_counts.append((builder.noun, len(built)))
    plain = [PlainItem(entry) for entry in entries if entry.event.seq not in claimed]
    items: list[TimelineCard | PlainItem] = sorted([*cards, *plain], key=lambda item: item.seq)
    return Timeline(ticket=ticket, items=items, event_count=len(events), card_counts=card_counts)

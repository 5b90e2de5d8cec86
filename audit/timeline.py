"""A ticket's audit trail shaped for reading: "what happened and why".

Events come in seq order from one query (plus one for the message bodies they point at).
Events that carry `data["run"]` are gathered into one card per AI run, placed where the run's
first event happened; everything else stays a plain chronological entry between the cards.
Nothing here trusts event data: templates escape it, and links are kept only for http(s)
or site-relative URLs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit.models import AuditEvent
from helpdesk.models import Message, Ticket

PART_LABELS = {
    "covered": ("Asks covered", "share of the customer's asks answered or done"),
    "action": ("Action taken", "whether the action the customer asked for was done or queued"),
    "question": ("Answer relevance", "how closely the best help-center sentence answers the question"),
    "grounded": ("Groundedness", "whether every detail in the reply comes from a source or tool result"),
    "triage": ("Triage certainty", "how sure the classifier was of the ticket type"),
}
DECISION_WORDS = {
    "autosend": "Sent to the customer automatically",
    "draft": "Left as a draft for a person to review",
    "escalate": "Escalated to a person",
    "awaiting_approval": "Held until a manager approves",
}
TOOL_STATUS_WORDS = {
    "executed": "executed",
    "simulated": "simulated (nothing changed)",
    "pending_approval": "waiting for approval",
    "refused": "refused",
    "failed": "failed",
}
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


def confidence_words(value: float | None) -> str:
    if value is None:
        return "unknown"
    if value >= 0.85:
        return "high"
    if value >= 0.6:
        return "moderate"
    if value >= 0.4:
        return "low"
    return "very low"


def safe_url(value: Any) -> str:
    """Only http(s) and site-relative links are rendered as links (no javascript:, data:, ...)."""
    if not isinstance(value, str):
        return ""
    url = value.strip()
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")) or (url.startswith("/") and not url.startswith("//")):
        return url
    return ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@dataclass
class Bar:
    name: str
    label: str
    hint: str
    value: float | None

    @property
    def percent(self) -> int:
        return 0 if self.value is None else max(0, min(100, round(self.value * 100)))

    @property
    def words(self) -> str:
        return confidence_words(self.value)


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
    def args_json(self) -> str:
        return _pretty(self.data.get("args"))

    @property
    def result_json(self) -> str:
        return _pretty(self.data.get("result"))

    @property
    def raw(self) -> str:
        return json.dumps(
            {"seq": self.event.seq, "kind": self.event.kind, "actor": self.event.actor, "data": self.event.data},
            indent=2,
            sort_keys=True,
            ensure_ascii=False,
        )


@dataclass
class RunCard:
    run: str
    first_seq: int
    started_at: datetime
    entries: list[Entry] = field(default_factory=list)
    started: dict[str, Any] | None = None
    triage: dict[str, Any] | None = None
    retrievals: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[Entry] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    score: dict[str, Any] | None = None
    bars: list[Bar] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Entry] = field(default_factory=list)
    sent: list[Entry] = field(default_factory=list)
    feedback: list[Entry] = field(default_factory=list)
    other: list[Entry] = field(default_factory=list)

    is_run = True

    @property
    def confidence(self) -> float | None:
        return _number(self.score.get("confidence")) if self.score else None

    @property
    def confidence_percent(self) -> int:
        value = self.confidence
        return 0 if value is None else max(0, min(100, round(value * 100)))

    @property
    def confidence_words(self) -> str:
        return confidence_words(self.confidence)

    @property
    def decision_words(self) -> str:
        if not self.decision:
            return ""
        decision = str(self.decision.get("decision", ""))
        return DECISION_WORDS.get(decision, decision)

    @property
    def rule_items(self) -> list[tuple[str, str]]:
        rule = self.decision.get("rule") if self.decision else None
        if not isinstance(rule, dict):
            return []
        return [(str(k), json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v) for k, v in rule.items()]

    @property
    def provider(self) -> dict[str, Any]:
        """Provider, model and prompt version: from the start of the run, else from the draft."""
        source = dict(self.started or {})
        for draft in self.drafts:
            for key in ("provider", "model", "prompt_version"):
                source.setdefault(key, draft.get(key))
        return source


@dataclass
class PlainItem:
    entry: Entry
    is_run = False


@dataclass
class Timeline:
    ticket: Ticket
    items: list[RunCard | PlainItem]
    event_count: int
    run_count: int


def _title(event: AuditEvent) -> str:
    return PLAIN_WORDS.get(event.kind, event.kind.replace(".", " · ").replace("_", " "))


def _add_to_run(card: RunCard, entry: Entry) -> None:
    kind, data = entry.event.kind, entry.data
    card.entries.append(entry)
    if kind == "ai.run_started":
        card.started = data
    elif kind == "ai.triaged":
        card.triage = data
    elif kind == "ai.retrieved":
        passages = []
        for passage in data.get("passages") or []:
            if isinstance(passage, dict):
                passages.append({**passage, "safe_url": safe_url(passage.get("url")), "score": passage.get("score")})
        card.retrievals.append({"query": data.get("query", ""), "passages": passages})
    elif kind == "ai.tool_called":
        card.tool_calls.append(entry)
    elif kind == "ai.drafted":
        citations = [
            {**c, "safe_url": safe_url(c.get("url"))} for c in data.get("citations") or [] if isinstance(c, dict)
        ]
        card.drafts.append({**data, "citations": citations})
    elif kind == "ai.scored":
        card.score = data
        raw_parts = data.get("parts")
        parts: dict[str, Any] = raw_parts if isinstance(raw_parts, dict) else {}
        bars = []
        # jsonb does not keep key order: show the parts in the pipeline's order.
        order = list(PART_LABELS)
        for name, value in sorted(parts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])):
            label, hint = PART_LABELS.get(name, (name.replace("_", " ").capitalize(), ""))
            bars.append(Bar(name=name, label=label, hint=hint, value=_number(value)))
        card.bars = bars
    elif kind == "ai.decided":
        card.decision = data
    elif kind == "ai.failed":
        card.failures.append(data)
    elif kind.startswith("action."):
        card.actions.append(entry)
    elif kind == "message.replied":
        card.sent.append(entry)
    elif kind == "feedback.recorded":
        card.feedback.append(entry)
    else:
        card.other.append(entry)


def build_timeline(ticket: Ticket) -> Timeline:
    """Every event of the ticket in seq order, AI runs gathered into cards. Two queries."""
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
    items: list[RunCard | PlainItem] = []
    runs: dict[str, RunCard] = {}
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        message_id = data.get("message")
        entry = Entry(event, _title(event), bodies.get(message_id) if isinstance(message_id, int) else None)
        run = data.get("run")
        if run is None or run == "":
            items.append(PlainItem(entry))
            continue
        key = str(run)
        card = runs.get(key)
        if card is None:
            card = runs[key] = RunCard(run=key, first_seq=event.seq, started_at=event.created_at)
            items.append(card)
        _add_to_run(card, entry)
    return Timeline(ticket=ticket, items=items, event_count=len(events), run_count=len(runs))

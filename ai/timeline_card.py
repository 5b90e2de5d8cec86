"""The AI-run card of a ticket's audit timeline: one card per Agent or Copilot run.

Audit knows no AI; this builder, registered in `AIConfig.ready()`, gathers the events that carry
`data["run"]` into one card per run, placed where the run's first event was recorded, and reads
them with the AI's words (parts of the confidence, decisions). The markup is
`templates/ai/_timeline_run_card.html`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit.hooks import CardBuilder, TimelineCard
from audit.timeline import Entry, safe_url

TEMPLATE = "ai/_timeline_run_card.html"

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


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _percent(value: float | None) -> int:
    return 0 if value is None else max(0, min(100, round(value * 100)))


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
        return _percent(self.value)

    @property
    def words(self) -> str:
        return confidence_words(self.value)


@dataclass
class ToolCall:
    """An `ai.tool_called` event, its arguments and result as readable JSON."""

    entry: Entry

    @property
    def data(self) -> dict[str, Any]:
        return self.entry.data

    @property
    def args_json(self) -> str:
        return _pretty(self.data.get("args"))

    @property
    def result_json(self) -> str:
        return _pretty(self.data.get("result"))


@dataclass
class RunCard:
    run: str
    first_seq: int
    started_at: datetime
    entries: list[Entry] = field(default_factory=list)
    started: dict[str, Any] | None = None
    triage: dict[str, Any] | None = None
    retrievals: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    score: dict[str, Any] | None = None
    bars: list[Bar] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)
    actions: list[Entry] = field(default_factory=list)
    sent: list[Entry] = field(default_factory=list)
    feedback: list[Entry] = field(default_factory=list)
    other: list[Entry] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        return _number(self.score.get("confidence")) if self.score else None

    @property
    def confidence_percent(self) -> int:
        return _percent(self.confidence)

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


def _bars(parts: dict[str, Any]) -> list[Bar]:
    bars = []
    # jsonb does not keep key order: show the parts in the pipeline's order.
    order = list(PART_LABELS)
    for name, value in sorted(parts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else 99, kv[0])):
        label, hint = PART_LABELS.get(name, (name.replace("_", " ").capitalize(), ""))
        bars.append(Bar(name=name, label=label, hint=hint, value=_number(value)))
    return bars


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
        card.tool_calls.append(ToolCall(entry))
    elif kind == "ai.drafted":
        citations = [
            {**c, "safe_url": safe_url(c.get("url"))} for c in data.get("citations") or [] if isinstance(c, dict)
        ]
        card.drafts.append({**data, "citations": citations})
    elif kind == "ai.scored":
        card.score = data
        raw_parts = data.get("parts")
        card.bars = _bars(raw_parts if isinstance(raw_parts, dict) else {})
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


def _run(data: Mapping[str, Any]) -> str:
    run = data.get("run")
    return "" if run is None or run == "" else str(run)


def run_anchor(data: Mapping[str, Any]) -> str:
    """The id of the card of the run an event belongs to (the card's markup sets it)."""
    run = _run(data)
    return f"run-{run}" if run else ""


def run_cards(entries: Sequence[Entry]) -> list[TimelineCard]:
    """One card per run among the events (in seq order); events without a run stay plain."""
    runs: dict[str, RunCard] = {}
    for entry in entries:
        key = _run(entry.data)
        if not key:
            continue
        card = runs.get(key)
        if card is None:
            card = runs[key] = RunCard(run=key, first_seq=entry.event.seq, started_at=entry.event.created_at)
        _add_to_run(card, entry)
    return [
        TimelineCard(
            template=TEMPLATE,
            card=card,
            seq=card.first_seq,
            claims=frozenset(entry.event.seq for entry in card.entries),
        )
        for card in runs.values()
    ]


RUN_CARDS = CardBuilder(noun="AI run", build=run_cards, anchor=run_anchor)

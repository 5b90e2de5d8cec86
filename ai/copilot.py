"""The Copilot beside a human: summary, a draft with confidence and citations, next steps.

Everything here is read-only for the ticket: the draft is a kind="copilot" AgentRun (the
Agent pipeline without sending or executing writes). Each piece is audited when generated
and can be regenerated; feedback on a draft feeds the calibration map.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from ai.agent.grounding import split_sentences
from ai.agent.pipeline import execute_run
from ai.draft_state import draft_outdated
from ai.models import AgentRun, DraftFeedback, FeedbackVerdict
from audit.redaction import redact_text
from audit.services import Actor, audit_record
from helpdesk.models import HUMAN_NEEDED_TYPES, AuthorKind, MessageKind, Ticket

FEEDBACK_REASONS = ("", "wrong", "unhelpful", "tone", "made_things_up")


def _first_sentences(text: str, n: int = 2) -> str:
    sentences = split_sentences(redact_text(text), min_words=2)
    out = " ".join(sentences[:n]) if sentences else redact_text(text).strip()
    return out[:400]


def _audit(ticket: Ticket, actor: Actor, kind: str, data: dict[str, Any]) -> None:
    with transaction.atomic():
        audit_record(workspace=ticket.workspace, ticket=ticket, actor=actor, kind=kind, data=data)


def summarize(ticket: Ticket) -> dict[str, Any]:
    """Extractive: who wrote, what they asked, what was tried, what is still open."""
    messages = list(ticket.messages.order_by("created_at", "pk"))
    customer = ticket.customer
    earlier = Ticket.objects.filter(customer=customer).exclude(pk=ticket.pk).count()
    first = next((m for m in messages if m.kind == MessageKind.CUSTOMER), None)
    tried: list[str] = []
    for m in messages:
        if m.kind == MessageKind.CUSTOMER:
            continue
        who = {AuthorKind.AI: "AI", AuthorKind.AGENT: "Agent", AuthorKind.SYSTEM: "System"}.get(
            AuthorKind(m.author_kind), m.author_kind
        )
        label = "note" if m.kind == MessageKind.NOTE else "reply"
        tried.append(f"{who} {label}: {_first_sentences(m.body, 1)}")
    for run in ticket.agent_runs.filter(kind="agent").exclude(tool_calls=[]).order_by("created_at")[:5]:
        for call in run.tool_calls:
            tried.append(f"Tool {call.get('tool')}: {call.get('status')}")
    last_customer = max(
        (m for m in messages if m.kind == MessageKind.CUSTOMER), key=lambda m: (m.created_at, m.pk), default=None
    )
    last_reply = max(
        (m for m in messages if m.kind == MessageKind.REPLY), key=lambda m: (m.created_at, m.pk), default=None
    )
    if last_customer is not None and (
        last_reply is None or (last_customer.created_at, last_customer.pk) > (last_reply.created_at, last_reply.pk)
    ):
        questions = [s for s in split_sentences(redact_text(last_customer.body), min_words=2) if s.endswith("?")]
        still_open = " ".join(questions[:2]) or _first_sentences(last_customer.body)
        open_text = f"The customer is waiting for an answer: {still_open}"
    else:
        open_text = "Waiting for the customer to reply."
    return {
        "who": f"{customer.name or customer.email} <{customer.email}> via {ticket.channel}"
        + (f", {earlier} earlier ticket{'s' if earlier != 1 else ''}" if earlier else ""),
        "what": f"{redact_text(ticket.subject)}: {_first_sentences(first.body) if first else ''}".strip(),
        "tried": tried[-6:],
        "open": open_text,
        "ticket_type": ticket.ticket_type,
    }


def copilot_summary(*, ticket: Ticket, actor: Actor | None = None) -> dict[str, Any]:
    summary = summarize(ticket)
    _audit(ticket, actor or Actor.system("copilot"), "ai.copilot_summary", {"run": None, "summary": summary})
    return summary


def copilot_draft(*, ticket: Ticket, user: Any) -> AgentRun:
    """A draft with confidence and citations: the Agent pipeline, kind "copilot", never sent."""
    trigger = ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("-created_at", "-pk").first()
    run = AgentRun.objects.create(
        workspace_id=ticket.workspace_id, ticket=ticket, trigger_message=trigger, kind="copilot", status="running"
    )
    return execute_run(run=run, message=trigger)


def next_steps(ticket: Ticket, run: AgentRun | None) -> dict[str, Any]:
    tools = []
    articles = []
    escalate = ticket.ticket_type in HUMAN_NEEDED_TYPES
    reason = f"human-needed type: {ticket.ticket_type}" if escalate else ""
    if run is not None:
        for call in run.tool_calls:
            tools.append({"tool": call.get("tool"), "args": call.get("args", {}), "status": call.get("status")})
        seen = set()
        for p in run.passages:
            if p.get("article") not in seen:
                seen.add(p.get("article"))
                articles.append({"title": p.get("title"), "url": p.get("url")})
        if run.decision == "escalate":
            escalate, reason = True, run.reason
        elif run.decision == "awaiting_approval":
            reason = run.reason
    return {"tools": tools, "articles": articles[:3], "escalate": escalate, "reason": reason}


def copilot_next_steps(*, ticket: Ticket, run: AgentRun | None = None, actor: Actor | None = None) -> dict[str, Any]:
    if run is None:
        run = ticket.agent_runs.order_by("-created_at", "-pk").first()
    steps = next_steps(ticket, run)
    _audit(ticket, actor or Actor.system("copilot"), "ai.copilot_next_steps", {"run": run.pk if run else None, **steps})
    return steps


def copilot_refresh(*, ticket: Ticket, user: Any) -> dict[str, Any]:
    """Regenerate all three and keep them on the copilot run (what GET shows next time)."""
    actor = Actor.for_user(user)
    summary = copilot_summary(ticket=ticket, actor=actor)
    run = copilot_draft(ticket=ticket, user=user)
    steps = copilot_next_steps(ticket=ticket, run=run, actor=actor)
    AgentRun.objects.filter(pk=run.pk).update(
        triage={**run.triage, "copilot": {"summary": summary, "next_steps": steps}}
    )
    run.refresh_from_db()
    return copilot_payload(run)


def copilot_latest(*, ticket: Ticket) -> AgentRun | None:
    """The latest copilot run, if it is still about the latest customer message."""
    run = ticket.agent_runs.filter(kind="copilot").order_by("-created_at", "-pk").first()
    latest = ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("-created_at", "-pk").first()
    if run is None or "copilot" not in run.triage or (latest and run.trigger_message_id != latest.pk):
        return None
    return run


def copilot_payload(run: AgentRun) -> dict[str, Any]:
    extra = run.triage.get("copilot", {})
    return {
        "run": run.pk,
        "summary": extra.get("summary"),
        "draft": {
            "text": run.draft,
            "confidence": run.confidence,
            "confidence_parts": run.confidence_parts,
            "citations": run.citations,
            "decision": run.decision,
            "reason": run.reason,
            "ticket_type": run.ticket_type,
            "language": run.language,
            "status": run.status,
        },
        "next_steps": extra.get("next_steps"),
        "generated_at": run.created_at.isoformat(),
    }


@transaction.atomic
def draft_feedback_record(*, run: AgentRun, user: Any, verdict: str, reason: str = "") -> DraftFeedback:
    """What a human did with a draft: the label the calibration map learns from."""
    if verdict not in FeedbackVerdict.values:
        raise ValidationError({"verdict": f"Unknown verdict {verdict!r}; use one of {FeedbackVerdict.values}."})
    if reason not in FEEDBACK_REASONS:
        raise ValidationError({"reason": f"Unknown reason {reason!r}; use one of {list(FEEDBACK_REASONS[1:])}."})
    feedback = DraftFeedback.objects.create(run=run, user=user, verdict=verdict, reason=reason)
    audit_record(
        workspace=run.workspace,
        ticket=run.ticket,
        actor=Actor.for_user(user),
        kind="feedback.recorded",
        data={"run": run.pk, "verdict": verdict, "reason": reason},
    )
    return feedback


__all__ = [
    "copilot_draft",
    "copilot_latest",
    "copilot_next_steps",
    "copilot_payload",
    "copilot_refresh",
    "copilot_summary",
    "draft_feedback_record",
    "draft_outdated",
]

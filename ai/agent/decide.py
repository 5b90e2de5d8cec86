"""Decide: autosend, draft, escalate or awaiting_approval, and say why.

Order of the checks (the first that applies decides):
  human-needed type -> escalate; suspected prompt injection -> escalate; nothing to go on
  (no passage, no tool result) -> escalate "no matching article"; an approval rule ->
  awaiting_approval (Agent mode); an ask left open (a detail missing, a tool not allowed or
  failed, a question the help center does not answer) -> draft, saying what is open; a detail in
  the reply no source states -> draft; Copilot mode -> draft; confidence below the most specific
  threshold -> draft; otherwise autosend.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from ai.models import AISettings, ConfidenceRule, Decision
from helpdesk.models import HUMAN_NEEDED_TYPES, Workspace, WorkspaceMode

DEFAULT_THRESHOLD = 0.85


@dataclass
class Verdict:
    decision: str
    reason: str
    threshold: float
    rule: dict[str, Any] = field(default_factory=dict)


def confidence_rules(*, workspace_id: int, channel: str, ticket_type: str) -> QuerySet[ConfidenceRule]:
    """The threshold rules that apply to this channel and type (the Agent reads them with its
    other configuration before deciding)."""
    return ConfidenceRule.objects.filter(
        workspace_id=workspace_id, channel__in=[channel, ""], ticket_type__in=[ticket_type, ""]
    )


def threshold_for(*, workspace: Workspace, channel: str, ticket_type: str) -> tuple[float, dict[str, Any]]:
    rules = list(confidence_rules(workspace_id=workspace.pk, channel=channel, ticket_type=ticket_type))
    # The workspace default is only read when no rule applies.
    settings_row = None if rules else AISettings.objects.filter(workspace=workspace).first()
    return threshold_from(rules=rules, settings_row=settings_row)


def threshold_from(*, rules: Iterable[ConfidenceRule], settings_row: AISettings | None) -> tuple[float, dict[str, Any]]:
    """The most specific of the `confidence_rules` wins: (channel, type) > (type) > (channel);
    without one, the workspace default."""

    def rank(rule: ConfidenceRule) -> int:
        return (2 if rule.ticket_type else 0) + (1 if rule.channel else 0)

    best = max(rules, key=rank, default=None)
    if best is not None:
        return best.autosend_threshold, {
            "source": "confidence_rule",
            "id": best.pk,
            "channel": best.channel,
            "ticket_type": best.ticket_type,
            "threshold": best.autosend_threshold,
        }
    if settings_row is not None:
        return settings_row.default_threshold, {
            "source": "workspace_default",
            "threshold": settings_row.default_threshold,
        }
    return DEFAULT_THRESHOLD, {"source": "default", "threshold": DEFAULT_THRESHOLD}


def decide(
    *,
    mode: str,
    ticket_type: str,
    confidence: float,
    threshold: float,
    rule: dict[str, Any],
    has_sources: bool,
    injection: bool = False,
    approval: dict[str, Any] | None = None,
    open_asks: list[str] | None = None,
    unsupported: list[str] | None = None,
) -> Verdict:
    def verdict(decision: str, reason: str, extra: dict[str, Any] | None = None) -> Verdict:
        return Verdict(decision, reason, threshold, {**rule, **(extra or {})})

    if ticket_type in HUMAN_NEEDED_TYPES:
        why = f"human-needed type: {ticket_type}"
        if ticket_type == "policy_exception" and open_asks:
            why = f"policy exception: {'; '.join(open_asks)}"
        return verdict(Decision.ESCALATE, why)
    if injection:
        return verdict(Decision.ESCALATE, "possible prompt injection: the message tries to change the AI's rules")
    if not has_sources:
        return verdict(Decision.ESCALATE, "no matching article")
    if approval is not None:
        label = approval.get("label") or approval.get("reason") or "approval rule"
        if mode == WorkspaceMode.AGENT:
            return verdict(Decision.AWAITING_APPROVAL, f"approval required: {label}", {"approval": approval})
        return verdict(Decision.DRAFT, f"copilot mode (approval would be required: {label})", {"approval": approval})
    if open_asks:
        return verdict(Decision.DRAFT, "not resolved yet: " + "; ".join(open_asks), {"open_asks": open_asks})
    if unsupported:
        shown = ", ".join(unsupported[:5])
        return verdict(Decision.DRAFT, f"the reply states details no source has: {shown}", {"unsupported": unsupported})
    if mode != WorkspaceMode.AGENT:
        return verdict(Decision.DRAFT, "copilot mode: a human sends every reply")
    if confidence < threshold:
        return verdict(
            Decision.DRAFT, f"confidence {percent(confidence)} is below the threshold of {percent(threshold)}"
        )
    return verdict(Decision.AUTOSEND, f"confidence {percent(confidence)} reaches the threshold of {percent(threshold)}")


def percent(value: float) -> str:
    """Rounded down to a tenth of a percent, so 0.8995 under a 0.90 threshold reads 89.9 %, not 90 %."""
    return f"{math.floor(value * 1000 + 1e-9) / 10:g}%"

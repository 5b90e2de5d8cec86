"""The five questions a buyer asks, answered from the workspace's own data.

Every answer is a query over live rows (audit events, approval rules, the allow-list,
outcomes), never a setting restated: if the data changes, the answer does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Count, Sum
from django.db.models.fields.json import KT
from django.urls import reverse
from django.utils import timezone

from ai.models import ApprovalRule, ToolPermission
from ai.tools.registry import BUILTIN_TOOLS
from audit.models import AuditEvent
from billing.models import Outcome, OutcomeStatus
from billing.services import plan_for
from helpdesk.models import Workspace

WINDOW_DAYS = 30
BINS = 10
MAX_LISTED_SCORES = 1000
_SKIP_FIELDS = {"id", "workspace", "created_at", "updated_at"}

QUESTIONS = {
    "confidence": "Can I see the confidence score for every AI reply?",
    "approval_rules": "Can I require human approval for specific ticket types regardless of confidence?",
    "timeline": "Can I see a per-ticket audit log of what the AI did and why?",
    "allow_list": "What is the enumerated list of actions the AI is allowed to take?",
    "billing": "How is the AI billed: per seat, per attempt or per outcome?",
}


def timeline_url(ticket_id: int, run: str | None = None) -> str:
    url = reverse("audit:ticket_timeline", args=[ticket_id])
    return f"{url}#run-{run}" if run else url


def _describe(obj: models.Model) -> dict[str, Any]:
    described: dict[str, Any] = {}
    for model_field in obj._meta.concrete_fields:
        if model_field.name in _SKIP_FIELDS:
            continue
        value = getattr(obj, model_field.attname)
        if model_field.is_relation and value is not None:
            value = str(getattr(obj, model_field.name))
        elif isinstance(value, Decimal | datetime):
            value = str(value)
        described[model_field.name] = value
    return described


@dataclass(frozen=True)
class HistogramBar:
    low: float
    high: float
    count: int
    x: int
    y: int
    width: int
    height: int


SVG_WIDTH, SVG_HEIGHT, SVG_PAD = 420, 160, 20


def histogram(values: list[float]) -> list[HistogramBar]:
    """Ten bins over [0, 1] (1.0 falls in the last), laid out for an inline SVG."""
    counts = [0] * BINS
    for value in values:
        counts[min(BINS - 1, max(0, int(value * BINS)))] += 1
    tallest = max(counts) or 1
    width = (SVG_WIDTH - 2 * SVG_PAD) // BINS
    bars = []
    for index, count in enumerate(counts):
        height = round((SVG_HEIGHT - 2 * SVG_PAD) * count / tallest)
        bars.append(
            HistogramBar(
                low=index / BINS,
                high=(index + 1) / BINS,
                count=count,
                x=SVG_PAD + index * width,
                y=SVG_HEIGHT - SVG_PAD - height,
                width=width - 4,
                height=height,
            )
        )
    return bars


def _confidence(workspace: Workspace, now: datetime) -> dict[str, Any]:
    rows = list(
        AuditEvent.objects.filter(
            workspace=workspace, kind="ai.scored", created_at__gte=now - timedelta(days=WINDOW_DAYS)
        )
        .annotate(confidence=KT("data__confidence"), run=KT("data__run"))
        .order_by("-seq")
        .values_list("ticket_id", "ticket__number", "confidence", "run", "created_at")
    )
    scores = []
    for ticket_id, number, raw, run, created_at in rows:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            continue
        scores.append(
            {
                "ticket": ticket_id,
                "number": number,
                "confidence": value,
                "run": run,
                "at": created_at.isoformat(),
                "timeline": timeline_url(ticket_id, run) if ticket_id else None,
            }
        )
    values = [s["confidence"] for s in scores]
    return {
        "question": QUESTIONS["confidence"],
        "days": WINDOW_DAYS,
        "replies": len(values),
        "mean": round(sum(values) / len(values), 4) if values else None,
        "histogram": [{"from": b.low, "to": b.high, "count": b.count} for b in histogram(values)],
        "scores": scores,
    }


def _approval_rules(workspace: Workspace) -> dict[str, Any]:
    enabled = set(ToolPermission.objects.filter(workspace=workspace, enabled=True).values_list("tool", flat=True))
    rules = []
    for rule in ApprovalRule.objects.filter(workspace=workspace, enabled=True).order_by("pk"):
        # A rule about a tool the AI may not call holds nothing: say so rather than list it as a safeguard.
        idle = f"never applies: the tool {rule.tool} is not enabled" if rule.tool and rule.tool not in enabled else ""
        rules.append({**_describe(rule), "sentence": str(rule)[:1].upper() + str(rule)[1:] + ".", "idle": idle})
    return {"question": QUESTIONS["approval_rules"], "configured": bool(rules), "rules": rules}


def _sample_timeline(workspace: Workspace) -> dict[str, Any]:
    latest = (
        AuditEvent.objects.filter(workspace=workspace, kind__startswith="ai.", ticket__isnull=False)
        .order_by("-seq")
        .values_list("ticket_id", "ticket__number")
        .first()
    )
    sample = {"ticket": latest[0], "number": latest[1], "url": timeline_url(latest[0])} if latest else None
    return {"question": QUESTIONS["timeline"], "sample": sample}


def _allow_list(workspace: Workspace) -> dict[str, Any]:
    tools = []
    for tool in ToolPermission.objects.filter(workspace=workspace, enabled=True).order_by("pk"):
        spec = BUILTIN_TOOLS.get(tool.tool)
        what = spec.description if spec else "an HTTP action of the workspace"
        limit = f" At most {tool.max_amount} {workspace.currency} per call." if tool.max_amount is not None else ""
        tools.append({**_describe(tool), "sentence": f"{what}{limit}"})
    return {"question": QUESTIONS["allow_list"], "configured": bool(tools), "tools": tools}


def _billing(workspace: Workspace, now: datetime) -> dict[str, Any]:
    plan = plan_for(workspace)
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    outcomes = Outcome.objects.for_workspace(workspace).filter(resolved_at__gte=month_start, resolved_at__lte=now)
    billable = outcomes.billable().aggregate(count=Count("pk"), cost=Sum("price"))
    pending = Outcome.objects.for_workspace(workspace).filter(status=OutcomeStatus.PENDING).count()
    return {
        "question": QUESTIONS["billing"],
        "model": plan.model,
        "model_label": plan.get_model_display(),
        "price_per_outcome": str(plan.price_per_outcome),
        "currency": plan.currency,
        "month": month_start.strftime("%Y-%m"),
        "outcomes": billable["count"],
        "cost": str((billable["cost"] or Decimal("0")).quantize(Decimal("0.01"))),
        "pending": pending,
        "trial_ends_at": plan.trial_ends_at.isoformat() if plan.trial_ends_at else None,
    }


def trust_answers(workspace: Workspace, *, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "workspace": workspace.slug,
        "generated_at": now.isoformat(),
        "confidence": _confidence(workspace, now),
        "approval_rules": _approval_rules(workspace),
        "timeline": _sample_timeline(workspace),
        "allow_list": _allow_list(workspace),
        "billing": _billing(workspace, now),
    }

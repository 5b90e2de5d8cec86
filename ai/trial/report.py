"""The trial report (DESIGN.md contract) and the review figures reviewers' marks produce.

Report JSON: {"summary": {...}, "tickets": [{"external_id", "ticket_type", "language",
"confidence", "decision", "reply", "citations": [{"title", "url"}], "actions": [{"tool",
"args", "status"}], "reason"}]}. The cost section calls the billing calculator's own functions
(billing.calculator.costs -> billing.pricing.monthly_costs), with the workspace's plan prices.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ai.agent.decide import threshold_for
from ai.models import AgentRun, Decision, TrialItem, TrialMarkKind
from billing.calculator import Inputs, costs
from billing.models import Plan
from helpdesk.models import Membership, Role

if TYPE_CHECKING:
    from ai.models import TrialRun

DECISIONS = tuple(Decision.values)  # autosend, draft, escalate, awaiting_approval
ACTION_STATUSES = ("executed", "simulated", "pending_approval", "refused", "failed")
TICKET_KEYS = (
    "external_id",
    "ticket_type",
    "language",
    "confidence",
    "decision",
    "reply",
    "citations",
    "actions",
    "reason",
    # Beyond the contract's keys: what the customer asked and what was done about each ask, the
    # confidence's parts, and the tools used that the workspace has not enabled yet.
    "asks",
    "confidence_parts",
    "tools_not_enabled",
    # What the shop's own agent answered, when the import had it: the reviewer reads it beside the draft.
    "agent_reply",
)
CURVE_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)
CALIBRATION_BINS = 5  # [0, .2), [.2, .4) ... [.8, 1.0]


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _action_status(status: str) -> str:
    # "held" never survives a finished run; if a run failed mid-way its held call did not run.
    return status if status in ACTION_STATUSES else "simulated"


def ticket_entry(external_id: str, run: AgentRun | None, agent_reply: str = "") -> dict[str, Any]:
    """One report line for one trial ticket, from its shadow run."""
    return {**_run_entry(external_id, run), "agent_reply": agent_reply}


def _run_entry(external_id: str, run: AgentRun | None) -> dict[str, Any]:
    if run is None:
        return {
            "external_id": external_id,
            "ticket_type": "",
            "language": "",
            "confidence": None,
            "decision": Decision.ESCALATE.value,
            "reply": "",
            "citations": [],
            "actions": [],
            "reason": "the run did not start",
            "asks": [],
            "confidence_parts": {},
            "tools_not_enabled": [],
        }
    parts = run.confidence_parts or {}
    return {
        "external_id": external_id,
        "ticket_type": run.ticket_type,
        "language": run.language,
        "confidence": round(run.confidence, 4) if run.confidence is not None else None,
        "decision": run.decision or Decision.ESCALATE.value,
        "reply": run.draft,
        "citations": [{"title": str(c.get("title", "")), "url": str(c.get("url", ""))} for c in run.citations],
        "actions": [
            {"tool": str(a.get("tool", "")), "args": a.get("args") or {}, "status": _action_status(a.get("status", ""))}
            for a in run.tool_calls
        ],
        "reason": run.reason,
        "asks": [{"intent": s.get("intent"), "outcome": s.get("outcome")} for s in parts.get("steps") or []],
        "confidence_parts": {k: v for k, v in parts.items() if isinstance(v, int | float) and k != "calibration_map"},
        "tools_not_enabled": sorted({str(a.get("tool")) for a in run.tool_calls if a.get("not_enabled")}),
    }


def eligible_for_autosend(entry: Mapping[str, Any]) -> bool:
    """Nothing but the confidence threshold stands between this draft and autosend: no
    human-needed type, escalation or approval (in Agent mode a "draft" only means "below the
    threshold")."""
    return entry["decision"] in (Decision.AUTOSEND, Decision.DRAFT) and entry["confidence"] is not None


def autosend_curve(tickets: list[dict[str, Any]]) -> list[dict[str, float]]:
    """The would-autosend rate if every threshold were t, for t in 0.5 .. 0.99."""
    n = len(tickets)
    return [
        {
            "threshold": t,
            "autosend_rate": _rate(sum(1 for e in tickets if eligible_for_autosend(e) and e["confidence"] >= t), n),
        }
        for t in CURVE_THRESHOLDS
    ]


def reason_key(reason: str) -> str:
    """Escalation reasons grouped: "human-needed type: legal" stays whole, free text is cut."""
    if reason.startswith("human-needed type"):
        return reason
    return reason.split(":", 1)[0].strip() or "unspecified"


def monthly_volume(*, tickets_in_file: int, dates: Iterable[str]) -> tuple[int, str]:
    """Tickets in a month at the file's pace: a file spanning a month or less counts as one month."""
    parsed = sorted(dt.datetime.fromisoformat(d) for d in dates)
    if len(parsed) < 2:
        return tickets_in_file, "the tickets in the file, as one month"
    span_days = (parsed[-1] - parsed[0]).total_seconds() / 86400
    if span_days <= 31:
        return tickets_in_file, f"the tickets in the file ({span_days:.0f} days), as one month"
    monthly = int((Decimal(tickets_in_file) * 30 / Decimal(str(span_days))).to_integral_value(ROUND_HALF_UP))
    return max(monthly, 1), f"{tickets_in_file} tickets over {span_days:.0f} days, scaled to 30 days"


def cost_section(
    *, trial: TrialRun, would_autosend_rate: float, tickets_in_file: int, dates: list[str]
) -> dict[str, Any]:
    workspace = trial.workspace
    # The workspace's plan prices, or the defaults (an unsaved Plan: the report writes nothing).
    plan = Plan.objects.filter(workspace=workspace).first() or Plan(workspace=workspace, currency=workspace.currency)
    seats = Membership.objects.filter(workspace=workspace).exclude(role=Role.FINANCE).count()
    volume, basis = monthly_volume(tickets_in_file=tickets_in_file, dates=dates)
    rate = (Decimal(str(would_autosend_rate)) * 100).quantize(Decimal("0.01"))
    inputs = Inputs(
        tickets=volume,
        resolution_rate=rate,  # an autosent answer is the best case of a billable outcome
        attempts_per_ticket=Decimal("1"),  # one AI attempt per ticket, as in the trial
        seats=max(seats, 1),
        seat_price=plan.price_per_seat,
    )
    month = costs(inputs=inputs, plan=plan)
    return {
        "currency": plan.currency,
        "basis": basis,
        "inputs": inputs.as_dict(),
        "prices": {
            "per_seat": str(plan.price_per_seat),
            "per_attempt": str(plan.price_per_attempt),
            "per_outcome": str(plan.price_per_outcome),
        },
        "per_seat": str(month.per_seat),
        "per_attempt": str(month.per_attempt),
        "per_outcome": str(month.per_outcome),
        "outcomes": month.outcomes,
    }


def summarize(tickets: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(tickets)
    decisions = Counter(e["decision"] for e in tickets)
    by_type = Counter(e["ticket_type"] or "unknown" for e in tickets)
    by_type_decision: dict[str, dict[str, int]] = {}
    for e in tickets:
        row = by_type_decision.setdefault(e["ticket_type"] or "unknown", dict.fromkeys(DECISIONS, 0))
        row[e["decision"]] += 1
    escalations = Counter(reason_key(e["reason"]) for e in tickets if e["decision"] == Decision.ESCALATE)
    actions = Counter(a["status"] for e in tickets for a in e["actions"])
    confidences = [e["confidence"] for e in tickets if e["confidence"] is not None]
    return {
        "tickets": n,
        "would_autosend_rate": _rate(decisions[Decision.AUTOSEND], n),
        "autosend_curve": autosend_curve(tickets),
        "escalation_rate": _rate(decisions[Decision.ESCALATE], n),
        "escalations_by_reason": dict(escalations.most_common()),
        "by_decision": {d: decisions[d] for d in DECISIONS},
        "by_type": dict(by_type.most_common()),
        "by_type_decision": by_type_decision,
        "actions_by_status": {s: actions[s] for s in ACTION_STATUSES},
        "mean_confidence": round(sum(confidences) / len(confidences), 4) if confidences else None,
        **tools_to_enable(tickets),
    }


def tools_to_enable(tickets: list[dict[str, Any]]) -> dict[str, Any]:
    """What enabling each tool the workspace has not enabled would change: the tickets it would
    resolve (autosent, or queued for a manager's approval) that cannot be resolved without it."""
    resolving = [e for e in tickets if e["decision"] in (Decision.AUTOSEND, Decision.AWAITING_APPROVAL)]
    per_tool = Counter(tool for e in resolving for tool in e.get("tools_not_enabled") or [])
    today = [e for e in tickets if e["decision"] == Decision.AUTOSEND and not e.get("tools_not_enabled")]
    return {
        "tools_to_enable": [{"tool": tool, "tickets": n} for tool, n in per_tool.most_common()],
        "would_autosend_rate_with_enabled_tools_only": _rate(len(today), len(tickets)),
    }


def report_tickets(trial: TrialRun) -> list[dict[str, Any]]:
    items = TrialItem.objects.filter(trial=trial).select_related("run").order_by("position")
    return [ticket_entry(item.external_id, item.run, item.agent_reply) for item in items]


def build_report(*, trial: TrialRun, context: dict[str, Any]) -> dict[str, Any]:
    tickets = report_tickets(trial)
    summary = summarize(tickets)
    threshold, rule = threshold_for(workspace=trial.workspace, channel="", ticket_type="")
    summary.update(
        {
            "trial": trial.pk,
            "workspace": trial.workspace.slug,
            "now": context.get("now"),
            "threshold": {"default": threshold, "rule": rule},
            "input_errors": context.get("input_errors", []),
            "tickets_in_file": context.get("tickets_in_file", len(tickets)),
            "helpcenter": context.get("helpcenter"),
            "orders": context.get("orders"),
            "sandbox": context.get("sandbox"),
            "cost": cost_section(
                trial=trial,
                would_autosend_rate=summary["would_autosend_rate"],
                tickets_in_file=context.get("tickets_in_file", len(tickets)),
                dates=context.get("ticket_dates", []),
            ),
        }
    )
    return {"summary": summary, "tickets": tickets}


# ------------------------------------------------------------------ reviewer marks


def review_figures(tickets: list[dict[str, Any]], marks: Mapping[str, str]) -> dict[str, Any]:
    """Marks -> measured rates. Accuracy: drafts marked good (sendable as they are);
    hallucination: drafts marked "made things up"; calibration: per confidence bin, the mean
    confidence beside the share marked good (a calibrated 0.9 is good 9 times in 10)."""
    marked = [(e, marks[e["external_id"]]) for e in tickets if e["external_id"] in marks]
    n = len(marked)
    counts = Counter(mark for _, mark in marked)
    bins: list[dict[str, Any]] = []
    ece = 0.0
    for b in range(CALIBRATION_BINS):
        low, high = b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS
        members = [
            (e["confidence"], mark)
            for e, mark in marked
            if e["confidence"] is not None
            and (low <= e["confidence"] < high or (b == CALIBRATION_BINS - 1 and e["confidence"] == 1.0))
        ]
        if not members:
            bins.append({"low": low, "high": high, "n": 0, "mean_confidence": None, "good_rate": None})
            continue
        mean_conf = sum(c for c, _ in members) / len(members)
        good = sum(1 for _, m in members if m == TrialMarkKind.GOOD) / len(members)
        ece += len(members) / n * abs(mean_conf - good)
        bins.append(
            {
                "low": low,
                "high": high,
                "n": len(members),
                "mean_confidence": round(mean_conf, 4),
                "good_rate": round(good, 4),
            }
        )
    autosent = [mark for e, mark in marked if e.get("decision") == Decision.AUTOSEND]
    return {
        "marked": n,
        # Of the replies the AI would have sent on its own, how many a reviewer marked good: the
        # figure a buyer asks first.
        "autosend_marked": len(autosent),
        "autosend_precision": _rate(sum(1 for m in autosent if m == TrialMarkKind.GOOD), len(autosent)),
        "counts": {kind: counts[kind] for kind in TrialMarkKind.values},
        "accuracy_rate": _rate(counts[TrialMarkKind.GOOD], n),
        "usable_rate": _rate(counts[TrialMarkKind.GOOD] + counts[TrialMarkKind.NEEDS_EDIT], n),
        "hallucination_rate": _rate(counts[TrialMarkKind.MADE_THINGS_UP], n),
        "calibration": bins,
        "calibration_error": round(ece, 4) if n else None,
    }


def ordered(report: dict[str, Any]) -> dict[str, Any]:
    """The report with its keys in the contract's order (jsonb storage sorts them)."""
    tickets = [{key: entry.get(key) for key in TICKET_KEYS} for entry in report.get("tickets", [])]
    return {"summary": report.get("summary", {}), "tickets": tickets}

"""The manager reports: every figure aggregated in Postgres, for a period, channel and type.

Each figure is one or two aggregate queries (COUNT/SUM with FILTER, percentile_cont, a window
for the top tickets per reason); Python only formats a handful of aggregated rows. Periods
are event times (UTC days): tickets by creation, runs by start, outcomes by resolution, draft
verdicts by when they were given (within 30 days of their run), approval requests by creation.
Channel and type are the ticket's.

The additive figures (volume, AI activity, outcomes, handoff counts, draft verdicts) read the
daily rollup (ai.reports.rollup) for the period's closed, unchanged days and the live tables
for the rest (today, days not rolled up yet, days changed since): the sum is the same as a
live-only computation, whether or not the rollup has run. Approvals (percentiles, pending
now), the calibration curve, the latest tickets per handoff reason and the knowledge gaps are
not additive and stay on the live tables (each an index range of the period, or a LIMIT).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.urls import NoReverseMatch, reverse

from ai.models import (
    ActionRequest,
    ActionStatus,
    AgentRun,
    CalibrationMap,
    Decision,
    DraftFeedback,
    FeedbackVerdict,
    GapVector,
)
from ai.reports.rollup import (
    DURABLE_DAYS,
    FEEDBACK_LAG_DAYS,
    Rolled,
    Split,
    handoff_case_sql,
    rolled_sums,
    split_period,
)
from audit.models import AuditEvent
from billing.models import Outcome, OutcomeStatus, Plan
from billing.pricing import ZERO, cost_per_attempt, cost_per_outcome, cost_per_seat, money
from helpdesk.models import Membership, Role, Ticket

TOP_TICKETS = 5
GAP_RUNS = 500
GAP_SIMILARITY = 0.6
NO_ARTICLE_REASON = "no matching article"
DEFAULT_MINUTES_PER_TICKET = 8
RESOLVED = (OutcomeStatus.CONFIRMED, OutcomeStatus.BILLED, OutcomeStatus.CREDITED)
CHARGED = (OutcomeStatus.CONFIRMED, OutcomeStatus.BILLED)
APPROVED = (ActionStatus.APPROVED, ActionStatus.EXECUTED, ActionStatus.FAILED)
DECISIONS = (Decision.AUTOSEND, Decision.DRAFT, Decision.ESCALATE, Decision.AWAITING_APPROVAL)
DRAFT_VERDICTS = (FeedbackVerdict.SENT_UNCHANGED, FeedbackVerdict.EDITED, FeedbackVerdict.DISCARDED)


@dataclass(frozen=True)
class ReportFilter:
    workspace_id: int
    start: datetime
    end: datetime  # exclusive
    channel: str = ""
    ticket_type: str = ""
    minutes_per_ticket: int = DEFAULT_MINUTES_PER_TICKET

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start).total_seconds() / 86400))

    def ticket_q(self, prefix: str = "") -> Q:
        q = Q()
        if self.channel:
            q &= Q(**{f"{prefix}channel": self.channel})
        if self.ticket_type:
            q &= Q(**{f"{prefix}ticket_type": self.ticket_type})
        return q

    def query_string(self, **overrides: Any) -> str:
        params = {
            "start": f"{self.start:%Y-%m-%d}",
            "end": f"{(self.end - timedelta(days=1)):%Y-%m-%d}",
            "channel": self.channel,
            "ticket_type": self.ticket_type,
            "minutes": self.minutes_per_ticket,
            **overrides,
        }
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def ratio(part: int | Decimal, whole: int | Decimal) -> float | None:
    return None if not whole else round(float(part) / float(whole), 4)


class PercentileCont(Aggregate):
    """percentile_cont(p) WITHIN GROUP (ORDER BY expr): a continuous percentile in Postgres."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, *, percentile: float, **extra: Any) -> None:
        if not 0 <= percentile <= 1:
            raise ValueError("percentile is in [0, 1]")
        super().__init__(expression, percentile=repr(float(percentile)), **extra)


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


# ---------------------------------------------------------------------------- figures


def _live_tickets(f: ReportFilter, split: Split) -> QuerySet[Ticket]:
    return Ticket.objects.filter(workspace_id=f.workspace_id).filter(split.q("created_at")).filter(f.ticket_q())


def volume(f: ReportFilter, split: Split, rolled: Rolled) -> dict[str, Any]:
    counts = dict(rolled.tickets_by_day)
    if split.live:
        rows = (
            _live_tickets(f, split)
            .annotate(day=TruncDate("created_at", tzinfo=UTC))
            .values("day")
            .annotate(n=Count("id"))
            .order_by("day")
        )
        for row in rows:
            counts[row["day"]] = counts.get(row["day"], 0) + row["n"]
    by_day = [(day, counts.get(day, 0)) for day in _days(f)]
    return {"tickets": sum(counts.values()), "by_day": [{"day": d.isoformat(), "tickets": n} for d, n in by_day]}


def _days(f: ReportFilter) -> list[date]:
    first, last = f.start.astimezone(UTC).date(), (f.end - timedelta(microseconds=1)).astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _runs(f: ReportFilter) -> QuerySet[AgentRun]:
    return AgentRun.objects.filter(
        workspace_id=f.workspace_id, kind="agent", created_at__gte=f.start, created_at__lt=f.end
    ).filter(f.ticket_q("ticket__"))


def ai_activity(f: ReportFilter, split: Split, rolled: Rolled, tickets: int) -> dict[str, Any]:
    """AI involvement (runs and tickets touched) and the decision shares of the Agent's runs."""
    agg: dict[str, int] = {"runs": rolled.get("runs"), **{d: rolled.get(d) for d in DECISIONS}}
    agg["tickets"] = rolled.get("tickets_with_runs")
    if split.live:
        live = (
            AgentRun.objects.filter(workspace_id=f.workspace_id, kind="agent")
            .filter(split.q("created_at"))
            .filter(f.ticket_q("ticket__"))
            .aggregate(runs=Count("id"), **{d: Count("id", filter=Q(decision=d)) for d in DECISIONS})
        )
        for key, n in live.items():
            agg[key] += n
        # Tickets created in the period that have an Agent run (at any time: the rollup counts
        # the same per creation day). A run on an older ticket is an attempt, priced below, not
        # this period's involvement.
        agg["tickets"] += (
            _live_tickets(f, split)
            .filter(Exists(AgentRun.objects.filter(kind="agent", ticket_id=OuterRef("pk"))))
            .count()
        )
    decided = sum(agg[d] for d in DECISIONS)
    return {
        "runs": agg["runs"],
        "tickets_with_runs": agg["tickets"],
        "involvement_rate": ratio(agg["tickets"], tickets),
        "runs_per_ticket": ratio(agg["runs"], tickets),
        "decisions": [
            {"decision": str(d), "label": Decision(d).label, "runs": agg[d], "share": ratio(agg[d], decided)}
            for d in DECISIONS
        ],
    }


def _reopened_within(days: int) -> Exists:
    return Exists(
        AuditEvent.objects.filter(
            ticket_id=OuterRef("ticket_id"),
            kind="ticket.reopened",
            created_at__gte=OuterRef("resolved_at"),
            created_at__lt=OuterRef("resolved_at") + timedelta(days=days),
        )
    )


def outcomes(f: ReportFilter, split: Split, rolled: Rolled, tickets: int) -> dict[str, Any]:
    """AI resolutions resolved in the period; durable = not voided/credited and no reopen
    within 7 days of resolution; charged = confirmed or billed (what the invoices bill)."""
    agg: dict[str, Any] = {k: rolled.get(k) for k in ("outcomes", "durable", "charged")}
    agg["cost"] = rolled.cost
    if split.live:
        live = (
            Outcome.objects.filter(workspace_id=f.workspace_id, status__in=RESOLVED)
            .filter(split.q("resolved_at"))
            .filter(f.ticket_q("ticket__"))
            .annotate(reopened=_reopened_within(DURABLE_DAYS))
            .aggregate(
                outcomes=Count("id"),
                durable=Count("id", filter=Q(status__in=CHARGED, reopened=False)),
                charged=Count("id", filter=Q(status__in=CHARGED)),
                cost=Sum("price", filter=Q(status__in=CHARGED), default=ZERO),
            )
        )
        for key, value in live.items():
            agg[key] += value
    return {
        "outcomes": agg["outcomes"],
        "durable": agg["durable"],
        "charged": agg["charged"],
        "cost": money(agg["cost"]),
        "resolution_rate": ratio(agg["outcomes"], tickets),
        "durable_rate": ratio(agg["durable"], tickets),
        "durable_share": ratio(agg["durable"], agg["outcomes"]),
    }


# Handoff reasons: the ticket's current AI reason, normalised into the categories.
# Order matters: the first matching category wins. (key, label, LIKE patterns on the lower-cased
# reason, the inbox's ai_decision filter for it)
HANDOFF_CATEGORIES: list[tuple[str, str, tuple[str, ...], str]] = [
    (
        "low_confidence",
        "Low confidence",
        ("confidence % below threshold%", "confidence % below the threshold%", "%low confidence%"),
        "draft",
    ),
    ("human_needed_type", "Human-needed type", ("human-needed type%",), "escalate"),
    ("policy_exception", "Outside the shop policy", ("policy exception%",), "escalate"),
    ("ask_open", "An ask not done (tool, detail or answer missing)", ("not resolved yet%",), "draft"),
    ("unsupported_detail", "A detail no source states", ("the reply states details no source has%",), "draft"),
    ("no_matching_article", "No matching article", (NO_ARTICLE_REASON,), "escalate"),
    ("approval_rejected", "Approval rejected", ("rejected %", "approval rejected%"), "escalate"),
    (
        "provider_failure",
        "Provider failure",
        ("provider failure%", "time budget exceeded%", "agent error%"),
        "escalate",
    ),
    ("customer_asked_for_person", "Customer asked for a person", ("customer asked for a%",), "escalate"),
    ("not_solved", "Customer said it did not solve it", ("customer said it did not%",), "escalate"),
    ("agent_paused", "AI paused (kill switch)", ("agent paused%",), "draft"),
    ("copilot_mode", "Copilot mode (no autosend)", ("copilot mode%",), "draft"),
]
OTHER = ("other", "Other", "escalate")


def _like(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern), re.S)


_PATTERNS = [(key, [_like(p) for p in patterns]) for key, _label, patterns, _decision in HANDOFF_CATEGORIES]


def handoff_category(reason: str) -> str:
    """The category of one AI reason (SQL LIKE semantics on the lower-cased reason)."""
    text = reason.lower()
    for key, patterns in _PATTERNS:
        if any(p.fullmatch(text) for p in patterns):
            return key
    return OTHER[0]


def _handoff_tickets(f: ReportFilter) -> QuerySet[Ticket]:
    """The period's handed-off tickets (whole period: callers narrow to the live part)."""
    return (
        Ticket.objects.filter(workspace_id=f.workspace_id, created_at__gte=f.start, created_at__lt=f.end)
        .filter(f.ticket_q())
        .filter(ai_decision__in=[Decision.ESCALATE, Decision.DRAFT])
        .exclude(ai_reason="")
    )


def _category() -> RawSQL:
    sql, params = handoff_case_sql('"helpdesk_ticket"."ai_reason"')
    return RawSQL(sql, params, output_field=CharField())  # noqa: S611 (patterns are parameters)


def handoffs(f: ReportFilter, split: Split, rolled: Rolled) -> list[dict[str, Any]]:
    """Reasons ranked by tickets, each with its latest tickets and an inbox link.

    Two queries whatever the volume: the handed-off tickets of the live part of the period
    counted per category (a SQL CASE over the reason, the rollup's own rule) added to the
    rollup's counts, then, per category present, its latest tickets over the whole period (a
    backward scan of the covering partial index that stops after TOP_TICKETS rows)."""
    totals: dict[str, int] = {k: n for k, n in rolled.handoffs.items() if n}
    if split.live:
        per_category = (
            _handoff_tickets(f)
            .filter(split.q("created_at"))
            .annotate(category=_category())
            .order_by()
            .values("category")
            .annotate(n=Count("id"))
        )
        for row in per_category:
            totals[row["category"]] = totals.get(row["category"], 0) + row["n"]
    latest = None
    for key in totals:
        part = (
            _handoff_tickets(f)
            .alias(in_category=_category())
            .filter(in_category=key)
            .annotate(category=Value(key, output_field=CharField()))
            .order_by("-created_at", "-id")
            .values("category", "id", "number", "subject", "ai_reason", "created_at")[:TOP_TICKETS]
        )
        latest = part if latest is None else latest.union(part, all=True)
    tickets: dict[str, list[dict[str, Any]]] = {}
    for row in latest or []:
        tickets.setdefault(row["category"], []).append(
            {
                "id": row["id"],
                "number": row["number"],
                "subject": row["subject"],
                "reason": row["ai_reason"],
                "url": reverse("helpdesk:ticket", args=[row["id"]]),
                "at": row["created_at"],
            }
        )
    for rows in tickets.values():
        rows.sort(key=lambda t: (t["at"], t["id"]), reverse=True)
        for t in rows:
            t["at"] = t["at"].isoformat()
    counts: list[dict[str, Any]] = [{"category": key, "n": n} for key, n in totals.items()]
    meta = {key: (label, decision) for key, label, _patterns, decision in HANDOFF_CATEGORIES}
    meta[OTHER[0]] = (OTHER[1], OTHER[2])
    total = sum(row["n"] for row in counts)
    ranked = sorted(counts, key=lambda row: (-row["n"], row["category"]))
    inbox = reverse("helpdesk:inbox")
    return [
        {
            "reason": row["category"],
            "label": meta[row["category"]][0],
            "tickets": row["n"],
            "share": ratio(row["n"], total),
            "inbox_url": inbox
            + "?"
            + urlencode(
                {
                    k: v
                    for k, v in {
                        "ai_decision": meta[row["category"]][1],
                        "channel": f.channel,
                        "ticket_type": f.ticket_type,
                    }.items()
                    if v
                }
            ),
            "latest": tickets.get(row["category"], []),
        }
        for row in ranked
    ]


def draft_acceptance(f: ReportFilter, split: Split, rolled: Rolled) -> dict[str, Any]:
    """What humans did with AI drafts, the discard reasons, and the calibration curve.

    A verdict counts when given within FEEDBACK_LAG_DAYS of its run (a human acts on a draft
    well within that), which also bounds the join to recent runs: an index range."""
    verdicts = {v: rolled.get(str(v)) for v in DRAFT_VERDICTS}
    reasons: dict[str, int] = {}
    for reason, n in rolled.discards.items():
        key = reason or "(none given)"
        reasons[key] = reasons.get(key, 0) + n
    if split.live and split.live_start is not None and split.live_end is not None:
        lag = timedelta(days=FEEDBACK_LAG_DAYS)
        rows = (
            DraftFeedback.objects.filter(
                run__workspace_id=f.workspace_id,
                run__created_at__gte=split.live_start - lag,
                run__created_at__lt=split.live_end,
                verdict__in=DRAFT_VERDICTS,
            )
            .filter(split.q("created_at"))
            .filter(run__created_at__gte=F("created_at") - lag)
            .filter(f.ticket_q("run__ticket__"))
            .values("verdict", "reason")
            .annotate(n=Count("id"))
        )
        for row in rows:
            verdicts[row["verdict"]] += row["n"]
            if row["verdict"] == FeedbackVerdict.DISCARDED:
                key = row["reason"] or "(none given)"
                reasons[key] = reasons.get(key, 0) + row["n"]
    total = sum(verdicts.values())
    calibration = (
        CalibrationMap.objects.filter(workspace_id=f.workspace_id)
        .order_by("-fitted_at")
        .values("reliability", "ece", "samples", "fitted_at")
    ).first()
    return {
        "total": total,
        "verdicts": [
            {
                "verdict": str(v),
                "label": FeedbackVerdict(v).label,
                "drafts": verdicts[v],
                "share": ratio(verdicts[v], total),
            }
            for v in DRAFT_VERDICTS
        ],
        "acceptance_rate": ratio(verdicts[FeedbackVerdict.SENT_UNCHANGED] + verdicts[FeedbackVerdict.EDITED], total),
        "discard_reasons": [
            {"reason": k, "drafts": n} for k, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "calibration": {
            "bins": list(calibration["reliability"]) if calibration else [],
            "ece": calibration["ece"] if calibration else None,
            "samples": calibration["samples"] if calibration else 0,
            "fitted_at": calibration["fitted_at"].isoformat() if calibration else None,
        },
    }


def approvals(f: ReportFilter, *, now: datetime) -> dict[str, Any]:
    requests = ActionRequest.objects.filter(workspace_id=f.workspace_id).filter(f.ticket_q("ticket__"))
    wait = EpochSeconds(F("decided_at") - F("created_at"))
    decided = Q(decided_at__isnull=False, status__in=[*APPROVED, ActionStatus.REJECTED])
    agg = requests.filter(created_at__gte=f.start, created_at__lt=f.end).aggregate(
        requests=Count("id"),
        decided=Count("id", filter=decided),
        approved=Count("id", filter=Q(decided_at__isnull=False, status__in=APPROVED)),
        rejected=Count("id", filter=Q(status=ActionStatus.REJECTED)),
        median=PercentileCont(wait, percentile=0.5, filter=decided),
        p90=PercentileCont(wait, percentile=0.9, filter=decided),
    )
    pending = (
        requests.filter(status=ActionStatus.PENDING)
        .order_by("created_at", "id")
        .values("id", "tool", "amount", "created_at", "ticket_id", "ticket__number", "ticket__subject")[:20]
    )
    return {
        "requests": agg["requests"],
        "decided": agg["decided"],
        "approved": agg["approved"],
        "rejected": agg["rejected"],
        "approval_rate": ratio(agg["approved"], agg["decided"]),
        "median_seconds": None if agg["median"] is None else round(agg["median"], 1),
        "p90_seconds": None if agg["p90"] is None else round(agg["p90"], 1),
        "pending": [
            {
                "action": p["id"],
                "tool": p["tool"],
                "amount": p["amount"],
                "ticket": p["ticket__number"],
                "subject": p["ticket__subject"],
                "url": reverse("helpdesk:ticket", args=[p["ticket_id"]]),
                "requested_at": p["created_at"].isoformat(),
                "waiting_minutes": int((now - p["created_at"]).total_seconds() // 60),
            }
            for p in pending
        ],
    }


def cost(f: ReportFilter, *, resolved: dict[str, Any], runs: int) -> dict[str, Any]:
    """What the period cost per outcome, against per seat and per attempt (billing.pricing)."""
    plan = Plan.objects.filter(workspace_id=f.workspace_id).first() or Plan(workspace_id=f.workspace_id)
    seats = Membership.objects.filter(workspace_id=f.workspace_id).exclude(role=Role.FINANCE).count()
    billed, charged = resolved["cost"], resolved["charged"]
    # Seats are priced by the month: the period pays its share of a 30-day month.
    per_seat = cost_per_seat(seats=seats, price=plan.price_per_seat * Decimal(f.days) / Decimal(30))
    per_attempt = cost_per_attempt(attempts=runs, price=plan.price_per_attempt)
    minutes = resolved["outcomes"] * f.minutes_per_ticket
    return {
        "currency": plan.currency,
        "outcomes_billed": charged,
        "per_outcome": billed,
        "per_outcome_list_price": cost_per_outcome(outcomes=charged, price=plan.price_per_outcome),
        "cost_per_resolved_ticket": money(billed / charged) if charged else None,
        "per_seat": per_seat,
        "seats": seats,
        "per_attempt": per_attempt,
        "attempts": runs,
        "minutes_per_ticket": f.minutes_per_ticket,
        "hours_saved": round(minutes / 60, 1),
    }


# ----------------------------------------------------------------------- knowledge gaps


@dataclass
class _Cluster:
    centroid: Any
    members: list[dict[str, Any]] = field(default_factory=list)


def _vectors(texts: list[str]) -> dict[str, Any]:
    """Unit vectors per distinct text: from the cache table, the rest embedded once, locally."""
    from ai.providers.local import LocalEmbeddingProvider

    provider = LocalEmbeddingProvider()
    hashes = {hashlib.sha256(t.encode()).hexdigest(): t for t in set(texts)}
    found = {
        h: np.asarray(v, dtype=np.float32)
        for h, v in GapVector.objects.filter(text_hash__in=list(hashes), model=provider.model).values_list(
            "text_hash", "embedding"
        )
    }
    missing = [h for h in hashes if h not in found]
    if missing:
        vectors = provider.embed([hashes[h] for h in missing])
        GapVector.objects.bulk_create(
            [GapVector(text_hash=h, model=provider.model, embedding=v) for h, v in zip(missing, vectors, strict=True)],
            ignore_conflicts=True,
        )
        found.update({h: np.asarray(v, dtype=np.float32) for h, v in zip(missing, vectors, strict=True)})
    return {t: found[h] for h, t in hashes.items()}


def article_add_url() -> str:
    try:
        return reverse("admin:helpdesk_article_add")
    except NoReverseMatch:
        # helpdesk/admin.py registers the article admin; until it does, the path is the same.
        return f"{reverse('admin:index')}helpdesk/article/add/"


def knowledge_gaps(f: ReportFilter, *, limit: int = GAP_RUNS) -> dict[str, Any]:
    """Questions escalated for lack of a matching article (the latest 500), clustered greedily:
    a question joins the most similar cluster if its centroid is at cosine >= 0.6, else starts one."""
    runs: list[dict[str, Any]] = [
        dict(row)
        for row in _runs(f)
        .filter(reason=NO_ARTICLE_REASON)
        .exclude(redacted_input="")
        .order_by("-created_at", "-id")
        .values("id", "ticket_id", "ticket__number", "redacted_input")[:limit]
    ]
    if not runs:
        return {"questions": 0, "clusters": []}
    vectors = _vectors([r["redacted_input"] for r in runs])
    clusters: list[_Cluster] = []
    for run in runs:
        vector = vectors[run["redacted_input"]]
        if clusters:
            sims = np.stack([c.centroid for c in clusters]) @ vector
            best = int(np.argmax(sims))
            if sims[best] >= GAP_SIMILARITY:
                cluster = clusters[best]
                cluster.members.append(run)
                centroid = cluster.centroid * (len(cluster.members) - 1) + vector
                cluster.centroid = centroid / (np.linalg.norm(centroid) or 1.0)
                continue
        clusters.append(_Cluster(centroid=vector, members=[run]))
    clusters.sort(key=lambda c: -len(c.members))
    add_url = article_add_url()
    result = []
    for cluster in clusters:
        questions = list(dict.fromkeys(m["redacted_input"].strip() for m in cluster.members))
        title = questions[0].splitlines()[0][:80]
        body = "Customers asked:\n\n" + "\n".join(f"- {q.splitlines()[0][:200]}" for q in questions[:10]) + "\n\n"
        prefill = urlencode({"workspace": f.workspace_id, "title": title, "body": body})
        result.append(
            {
                "questions": len(cluster.members),
                "title": title,
                "samples": questions[:3],
                "tickets": [
                    {"number": m["ticket__number"], "url": reverse("helpdesk:ticket", args=[m["ticket_id"]])}
                    for m in cluster.members[:TOP_TICKETS]
                ],
                "write_article_url": f"{add_url}?{prefill}",
            }
        )
    return {"questions": len(runs), "clusters": result}


# ----------------------------------------------------------------------------- report


def report(f: ReportFilter, *, now: datetime, gaps: bool = True, use_rollup: bool = True) -> dict[str, Any]:
    """Every figure of the reports page (and of the API and CSV exports). use_rollup=False
    computes everything from the live tables (the reference the rollup is tested against)."""
    with transaction.atomic():
        # Group-bys over a month of tickets sort in memory instead of spilling to disk.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '32MB'")
        return _report(f, now=now, gaps=gaps, use_rollup=use_rollup)


def _report(f: ReportFilter, *, now: datetime, gaps: bool, use_rollup: bool) -> dict[str, Any]:
    split = split_period(workspace_id=f.workspace_id, start=f.start, end=f.end, use_rollup=use_rollup)
    rolled = rolled_sums(workspace_id=f.workspace_id, days=split.rolled, channel=f.channel, ticket_type=f.ticket_type)
    vol = volume(f, split, rolled)
    activity = ai_activity(f, split, rolled, vol["tickets"])
    resolved = outcomes(f, split, rolled, vol["tickets"])
    return {
        "filter": {
            "start": f.start.isoformat(),
            "end": f.end.isoformat(),
            "channel": f.channel,
            "ticket_type": f.ticket_type,
            "minutes_per_ticket": f.minutes_per_ticket,
        },
        "volume": vol,
        "ai": activity,
        "resolution": resolved,
        "handoffs": handoffs(f, split, rolled),
        "drafts": draft_acceptance(f, split, rolled),
        "approvals": approvals(f, now=now),
        "cost": cost(f, resolved=resolved, runs=activity["runs"]),
        "knowledge_gaps": knowledge_gaps(f) if gaps else {"questions": 0, "clusters": []},
    }

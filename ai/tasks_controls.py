"""Manager alerts and the spend-cap check, run every 15 minutes by django-q2.

Each alert is emailed once when its condition starts (`AlertState.active` flips false -> true
with a conditional UPDATE, so two workers never both send) and re-arms when it clears:
- approvals waiting longer than the set time (default 2 h);
- the escalation rate of the last 24 h jumping against the previous 7 days (x2, >= 5);
- provider failures repeating (>= 3 "ai.failed" audit events in the last hour).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ai.models import ActionRequest, ActionStatus, AgentRun, AlertSettings, AlertState, Decision
from audit.models import AuditEvent
from audit.services import Actor, audit_record
from billing.models import Plan
from billing.spend_cap import email_on_commit, member_emails, spend_cap_check
from helpdesk.access import MANAGER_ROLES
from helpdesk.models import Workspace

APPROVAL_WAIT = "approval_wait"
ESCALATION_JUMP = "escalation_jump"
PROVIDER_FAILURES = "provider_failures"

CONTROL_SCHEDULES: list[dict[str, Any]] = [
    {
        "name": "ai.controls_alerts",
        "func": "ai.tasks_controls.controls_alerts_task",
        "schedule_type": "I",
        "minutes": 15,
    },
]


def setup_control_schedules(schedule_model: Any = None) -> int:
    """Create or update the schedule (idempotent; the migration calls it)."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    for spec in CONTROL_SCHEDULES:
        values = {
            "func": spec["func"],
            "schedule_type": spec["schedule_type"],
            "minutes": spec["minutes"],
            "repeats": -1,
        }
        schedule_model.objects.update_or_create(name=spec["name"], defaults=values)
    return len(CONTROL_SCHEDULES)


@dataclass(frozen=True)
class Condition:
    kind: str
    firing: bool
    subject: str
    body: str
    details: dict[str, Any]


def alert_settings(workspace_id: int) -> AlertSettings:
    return AlertSettings.objects.filter(workspace_id=workspace_id).first() or AlertSettings(workspace_id=workspace_id)


def approval_wait(*, workspace: Workspace, cfg: AlertSettings, now: datetime) -> Condition:
    cutoff = now - timedelta(minutes=cfg.approval_wait_minutes)
    overdue = ActionRequest.objects.filter(
        workspace=workspace, status=ActionStatus.PENDING, created_at__lte=cutoff
    ).aggregate(n=Count("id"))
    waiting = list(
        ActionRequest.objects.filter(workspace=workspace, status=ActionStatus.PENDING, created_at__lte=cutoff)
        .order_by("created_at")
        .values_list("id", "tool", "created_at", "ticket__number")[:10]
    )
    lines = [
        f"- #{number} {tool}, waiting since {at:%Y-%m-%d %H:%M} UTC (request {pk})" for pk, tool, at, number in waiting
    ]
    return Condition(
        APPROVAL_WAIT,
        overdue["n"] > 0,
        f"[Support Oasis] {workspace.name}: {overdue['n']} approval(s) waiting over {cfg.approval_wait_minutes} min",
        "These actions wait for a manager:\n"
        + "\n".join(lines)
        + f"\n\nApprove or reject: {settings.SITE_URL}/approvals/\n",
        {"overdue": overdue["n"], "actions": [w[0] for w in waiting]},
    )


def escalation_jump(*, workspace: Workspace, cfg: AlertSettings, now: datetime) -> Condition:
    day, week = now - timedelta(hours=24), now - timedelta(days=8)
    agg = AgentRun.objects.filter(
        workspace=workspace, kind="agent", created_at__gte=week, created_at__lt=now
    ).aggregate(
        recent=Count("id", filter=Q(created_at__gte=day)),
        recent_esc=Count("id", filter=Q(created_at__gte=day, decision=Decision.ESCALATE)),
        before=Count("id", filter=Q(created_at__lt=day)),
        before_esc=Count("id", filter=Q(created_at__lt=day, decision=Decision.ESCALATE)),
    )
    recent_rate = agg["recent_esc"] / agg["recent"] if agg["recent"] else 0.0
    before_rate = agg["before_esc"] / agg["before"] if agg["before"] else 0.0
    firing = agg["recent_esc"] >= cfg.escalation_min_count and recent_rate >= cfg.escalation_jump_factor * before_rate
    return Condition(
        ESCALATION_JUMP,
        firing,
        f"[Support Oasis] {workspace.name}: escalations jumped to {recent_rate:.0%} in the last 24 h",
        (
            f"Last 24 h: {agg['recent_esc']} of {agg['recent']} Agent runs escalated ({recent_rate:.0%}).\n"
            f"Previous 7 days: {agg['before_esc']} of {agg['before']} ({before_rate:.0%}).\n"
            f"Handoff reasons: {settings.SITE_URL}/reports/\n"
        ),
        {**agg, "recent_rate": round(recent_rate, 4), "before_rate": round(before_rate, 4)},
    )


def provider_failures(*, workspace: Workspace, cfg: AlertSettings, now: datetime) -> Condition:
    failures = list(
        AuditEvent.objects.filter(
            workspace=workspace, kind="ai.failed", created_at__gte=now - timedelta(hours=1), created_at__lte=now
        )
        .order_by("-created_at")
        .values_list("data", flat=True)[:50]
    )
    reasons = sorted({str(d.get("reason", "")) for d in failures if isinstance(d, dict)})
    return Condition(
        PROVIDER_FAILURES,
        len(failures) >= cfg.provider_failures_per_hour,
        f"[Support Oasis] {workspace.name}: the AI provider failed {len(failures)} times in the last hour",
        "Failed runs are handed to humans. Reasons:\n" + "\n".join(f"- {r}" for r in reasons) + "\n",
        {"failures": len(failures), "reasons": reasons},
    )


@transaction.atomic
def alert_fire(*, workspace: Workspace, condition: Condition, now: datetime) -> bool:
    """Email the managers if the condition just started; clear the state once it ends.
    Returns True when an email was sent (queued on commit)."""
    state, _ = AlertState.objects.get_or_create(workspace=workspace, kind=condition.kind)
    if not condition.firing:
        AlertState.objects.filter(pk=state.pk, active=True).update(active=False)
        return False
    claimed = AlertState.objects.filter(pk=state.pk, active=False).update(
        active=True, last_sent_at=now, details=condition.details
    )
    if not claimed:
        return False  # already alerted for this episode
    recipients = member_emails(workspace.pk, MANAGER_ROLES)
    audit_record(
        workspace=workspace,
        actor=Actor.system("alerts"),
        kind="alert.sent",
        data={"alert": condition.kind, "recipients": recipients, **condition.details},
    )
    email_on_commit(subject=condition.subject, body=condition.body, recipients=recipients)
    return True


CHECKS = (approval_wait, escalation_jump, provider_failures)


def alerts_check(*, workspace: Workspace, now: datetime | None = None) -> list[str]:
    """Evaluate every alert of one workspace; returns the kinds emailed now."""
    now = now or timezone.now()
    cfg = alert_settings(workspace.pk)
    if not cfg.enabled:
        return []
    sent = []
    for check in CHECKS:
        condition = check(workspace=workspace, cfg=cfg, now=now)
        if alert_fire(workspace=workspace, condition=condition, now=now):
            sent.append(condition.kind)
    return sent


def controls_alerts_task() -> dict[str, int]:
    """The scheduled task: alerts for every workspace, then the spend cap of capped plans."""
    sent = capped = 0
    for workspace in Workspace.objects.order_by("id"):
        sent += len(alerts_check(workspace=workspace))
    for workspace_id in Plan.objects.filter(
        Q(monthly_spend_cap__isnull=False) | Q(cap_reached_for__isnull=False)
    ).values_list("workspace_id", flat=True):
        spend_cap_check(workspace=workspace_id)
        capped += 1
    return {"alerts_sent": sent, "caps_checked": capped}

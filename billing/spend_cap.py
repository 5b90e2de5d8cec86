"""The monthly spend cap on outcome charges.

`spend_cap_enforce(workspace=...)` runs inside the transaction that confirmed outcomes (billing's
finalisation path and `outcome_confirm`); it locks the plan row so concurrent finalisers never
bill past the cap. At 100 % it switches the workspace to Copilot-only through
`helpdesk.services.workspace_update`, so billing needs nothing from the AI app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from audit.services import Actor, audit_record
from billing.models import Outcome, OutcomeStatus, Plan
from billing.pricing import money
from helpdesk.models import Membership, Role, Workspace, WorkspaceMode
from helpdesk.services import workspace_update

logger = logging.getLogger(__name__)

CAP_ALERT_FRACTION = Decimal("0.8")
CAP_REACHED_REASON = "spend cap reached"


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + (start.month == 12), start.month % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class CapStatus:
    month: date
    cap: Decimal | None
    spent: Decimal
    currency: str
    reached: bool
    alerted: bool

    @property
    def fraction(self) -> Decimal | None:
        if self.cap is None or self.cap == 0:
            return None
        return self.spent / self.cap

    @property
    def percent(self) -> int | None:
        fraction = self.fraction
        return None if fraction is None else int(fraction * 100)


def month_charges(*, workspace_id: int, start: datetime) -> Decimal:
    """Outcome charges of the month: confirmed or billed outcomes resolved in it (the rows the
    month's invoice bills; trial outcomes are priced 0.00)."""
    total = Outcome.objects.filter(
        workspace_id=workspace_id,
        status__in=[OutcomeStatus.CONFIRMED, OutcomeStatus.BILLED],
        resolved_at__gte=start,
        resolved_at__lt=next_month(start),
    ).aggregate(total=Sum("price", default=Decimal("0")))["total"]
    return money(total)


def spend_cap_status(*, workspace: Workspace | int, now: datetime | None = None) -> CapStatus:
    """This month's charges against the cap (read only: the reports page shows it)."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    start = month_start(now or timezone.now())
    plan = Plan.objects.filter(workspace_id=workspace_id).first()
    spent = month_charges(workspace_id=workspace_id, start=start)
    if plan is None:
        return CapStatus(start.date(), None, spent, "USD", False, False)
    cap = plan.monthly_spend_cap
    return CapStatus(
        month=start.date(),
        cap=cap,
        spent=spent,
        currency=plan.currency,
        reached=cap is not None and (plan.cap_reached_for == start.date() or spent >= cap),
        alerted=plan.cap_alert_sent_for == start.date(),
    )


# Zero the price of confirmed (not yet billed) outcomes past the cap, month by month. Billed
# rows and the earliest finalised rows keep their price; the running sum decides the rest.
# Runs under the plan row lock, in a statement of its own, so it sees every outcome other
# finalisers committed before the lock was granted.
_CAP_SQL = """
WITH months AS (
    SELECT DISTINCT date_trunc('month', resolved_at AT TIME ZONE 'UTC') AS m
    FROM billing_outcome
    WHERE workspace_id = %(ws)s AND status = 'confirmed' AND price > 0
),
ranked AS (
    SELECT o.id, o.status,
           SUM(o.price) OVER (
               PARTITION BY date_trunc('month', o.resolved_at AT TIME ZONE 'UTC')
               ORDER BY (o.status = 'billed') DESC, o.finalized_at, o.id
           ) AS running
    FROM billing_outcome o
    WHERE o.workspace_id = %(ws)s AND o.status IN ('confirmed', 'billed') AND o.price > 0
      AND date_trunc('month', o.resolved_at AT TIME ZONE 'UTC') IN (SELECT m FROM months)
)
UPDATE billing_outcome o
SET price = 0,
    evidence = o.evidence || jsonb_build_object(
        'spend_cap', jsonb_build_object('cap', %(cap)s::text, 'price_before', o.price::text, 'at', %(now)s::text)
    )
FROM ranked r
WHERE o.id = r.id AND r.status = 'confirmed' AND r.running > %(cap)s
RETURNING o.id, o.ticket_id
"""


def member_emails(workspace_id: int, roles: tuple[str, ...]) -> list[str]:
    """The addresses of the workspace's members with one of `roles` (who a control emails)."""
    return sorted(
        {
            email
            for email in Membership.objects.filter(workspace_id=workspace_id, role__in=roles).values_list(
                "user__email", flat=True
            )
            if email
        }
    )


def email_on_commit(*, subject: str, body: str, recipients: list[str]) -> None:
    """Send once the state change commits; a mail failure is logged, never raised."""
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:  # an unreachable mail server must not undo the state change
            logger.exception("control email %r failed", subject)

    transaction.on_commit(send)


@transaction.atomic
def spend_cap_enforce(*, workspace: Workspace | int, now: datetime | None = None) -> CapStatus:
    """Hold the cap: zero-price confirmed outcomes past it, email the admins once a month at
    80 %, and at 100 % switch the workspace to Copilot-only (audited "spend cap reached").

    Billing calls this inside the transaction that confirmed outcomes (`_finalize_batch`, once
    per workspace it finalised, in ascending id order; `outcome_confirm`), after the UPDATE.
    The plan row lock serialises finalisers of one workspace, so the total never passes it."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    now = now or timezone.now()
    start = month_start(now)
    plan = Plan.objects.select_for_update().filter(workspace_id=workspace_id).first()
    if plan is None:
        return spend_cap_status(workspace=workspace_id, now=now)
    if plan.monthly_spend_cap is None:
        if plan.cap_reached_for is not None:
            _cap_reset(plan=plan, workspace=Workspace.objects.get(pk=workspace_id), month=start.date())
        return spend_cap_status(workspace=workspace_id, now=now)
    cap = plan.monthly_spend_cap
    ws = Workspace.objects.get(pk=workspace_id)
    with connection.cursor() as cursor:
        cursor.execute(_CAP_SQL, {"ws": workspace_id, "cap": cap, "now": now.isoformat()})
        capped = cursor.fetchall()
    if capped:
        audit_record(
            workspace=ws,
            actor=Actor.system("billing.spend_cap"),
            kind="outcomes.capped",
            data={
                "count": len(capped),
                "cap": cap,
                "reason": CAP_REACHED_REASON,
                "outcomes": [row[0] for row in capped],
                "tickets": [row[1] for row in capped],
            },
        )
    return _cap_actions(plan=plan, workspace=ws, start=start, capped=bool(capped))


def _cap_reset(*, plan: Plan, workspace: Workspace, month: date) -> Workspace:
    """A new month (or the cap removed): the cap switched the Agent off, so it switches it back on."""
    if plan.cap_reached_for is None or (plan.cap_reached_for >= month and plan.monthly_spend_cap is not None):
        return workspace
    plan.cap_reached_for = None
    plan.save(update_fields=["cap_reached_for"])
    if workspace.mode == WorkspaceMode.COPILOT:
        actor = Actor.system("billing.spend_cap")
        workspace = workspace_update(workspace=workspace, actor=actor, changes={"mode": WorkspaceMode.AGENT})
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="spend_cap.reset",
            data={"month": f"{month:%Y-%m}", "cap": plan.monthly_spend_cap, "mode": WorkspaceMode.AGENT},
        )
    return workspace


def _cap_actions(*, plan: Plan, workspace: Workspace, start: datetime, capped: bool) -> CapStatus:
    """With the plan row locked: the 80 % email, the switch at 100 %, the reset next month."""
    cap = plan.monthly_spend_cap
    assert cap is not None
    spent = month_charges(workspace_id=workspace.pk, start=start)
    month = start.date()
    actor = Actor.system("billing.spend_cap")
    changed: list[str] = []
    workspace = _cap_reset(plan=plan, workspace=workspace, month=month)
    if cap > 0 and spent >= cap * CAP_ALERT_FRACTION and plan.cap_alert_sent_for != month:
        plan.cap_alert_sent_for = month
        changed.append("cap_alert_sent_for")
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="spend_cap.alerted",
            data={"month": f"{month:%Y-%m}", "cap": cap, "spent": spent, "currency": plan.currency},
        )
        email_on_commit(
            subject=f"[Support Oasis] {workspace.name}: {int(spent * 100 / cap)} % of the monthly AI spend cap used",
            body=(
                f"Outcome charges this month: {spent} {plan.currency} of the {cap} {plan.currency} cap.\n"
                "At 100 % the Agent switches to Copilot-only for the rest of the month.\n"
                f"Reports: {settings.SITE_URL}/reports/\n"
            ),
            recipients=member_emails(workspace.pk, (Role.ADMIN,)),
        )
    reached = capped or spent >= cap
    if reached and plan.cap_reached_for != month:
        plan.cap_reached_for = month
        changed.append("cap_reached_for")
        before = workspace.mode
        if workspace.mode != WorkspaceMode.COPILOT:
            workspace = workspace_update(workspace=workspace, actor=actor, changes={"mode": WorkspaceMode.COPILOT})
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="spend_cap.reached",
            data={
                "month": f"{month:%Y-%m}",
                "cap": cap,
                "spent": spent,
                "currency": plan.currency,
                "mode": {"from": before, "to": WorkspaceMode.COPILOT},
                "reason": CAP_REACHED_REASON,
            },
        )
    if changed:
        plan.save(update_fields=sorted(set(changed)))
    return CapStatus(
        month=month,
        cap=cap,
        spent=spent,
        currency=plan.currency,
        reached=plan.cap_reached_for == month,
        alerted=plan.cap_alert_sent_for == month,
    )


def spend_cap_check(*, workspace: Workspace | int, now: datetime | None = None) -> CapStatus:
    """The scheduled check (ai.tasks_controls): same as `spend_cap_enforce`; it also switches the
    Agent back on at the start of the month after the cap was reached."""
    return spend_cap_enforce(workspace=workspace, now=now)

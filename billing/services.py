"""Every billing state change goes through one function here.

Keyword-only, one transaction each, with the audit event written in that transaction.
Outcome moves are guarded: a row lock (`select_for_update`) for single outcomes, a
conditional `UPDATE ... WHERE status = 'pending'` for the finaliser, so two workers never
finalise or bill the same outcome twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from audit.services import Actor, audit_record
from billing.models import TRIAL_DAYS, Invoice, LineKind, Outcome, OutcomeStatus, Plan
from billing.pricing import invoice_totals, outcome_price
from billing.rules import is_confirmation, is_greeting_only
from billing.spend_cap import spend_cap_enforce
from helpdesk.models import AuthorKind, Message, MessageKind, Role, Ticket, Workspace
from helpdesk.services import membership_add, workspace_create

ESCALATE = "escalate"
FINALIZE_BATCH = 1000


class OutcomeTransitionError(ValidationError):
    """The outcome was not in a state the change starts from."""


def audit_timeline_url(ticket_id: int) -> str:
    """Where the ticket's audit trail is reviewed: its timeline in the back office."""
    return reverse("admin:audit_auditevent_ticket_timeline", args=[ticket_id])


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _history(outcome: Outcome, event: str, at: datetime, **extra: Any) -> None:
    outcome.evidence.setdefault("history", []).append({"event": event, "at": _iso(at), **extra})


# --------------------------------------------------------------------------------- plans


@transaction.atomic
def plan_create(*, workspace: Workspace, actor: Actor, trial_days: int | None = None) -> Plan:
    trial_ends_at = timezone.now() + timedelta(days=trial_days) if trial_days else None
    plan = Plan(workspace=workspace, currency=workspace.currency, trial_ends_at=trial_ends_at)
    plan.full_clean(exclude=["workspace"])
    plan.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="plan.created",
        data={
            "model": plan.model,
            "price_per_outcome": plan.price_per_outcome,
            "currency": plan.currency,
            "outcome_window_hours": plan.outcome_window_hours,
            "trial_ends_at": trial_ends_at,
        },
    )
    return plan


def plan_for(workspace: Workspace | int) -> Plan:
    """The workspace's plan; a workspace created before billing existed gets the default one."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    plan = Plan.objects.filter(workspace_id=workspace_id).first()
    if plan is not None:
        return plan
    ws = workspace if isinstance(workspace, Workspace) else Workspace.objects.get(pk=workspace_id)
    try:
        with transaction.atomic():
            return plan_create(workspace=ws, actor=Actor.system("billing"))
    except IntegrityError:
        return Plan.objects.get(workspace_id=workspace_id)


# -------------------------------------------------------------------------------- trial


@dataclass(frozen=True)
class Signup:
    user: User
    workspace: Workspace
    plan: Plan


def _unique_slug(name: str) -> str:
    base = (slugify(name) or "workspace")[:50]
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def trial_signup(*, workspace_name: str, email: str, password: str) -> Signup:
    """Self-serve sign-up: a user, a workspace they administer, and a 14-day free trial."""
    email = (email or "").strip().lower()
    workspace_name = (workspace_name or "").strip()
    errors: dict[str, list[str]] = {}
    if not workspace_name:
        errors["workspace_name"] = ["Name your workspace."]
    elif len(workspace_name) > 200:
        errors["workspace_name"] = ["At most 200 characters."]
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = ["Enter a valid email address."]
    user_model = get_user_model()
    if "email" not in errors and user_model.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists():
        errors["email"] = ["An account with this email already exists; log in instead."]
    try:
        validate_password(password, user=user_model(username=email, email=email))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = user_model.objects.create_user(username=email, email=email, password=password)
    actor = Actor.for_user(user)
    workspace = workspace_create(name=workspace_name, slug=_unique_slug(workspace_name), actor=actor)
    membership_add(workspace=workspace, user=user, role=Role.ADMIN, actor=actor)
    plan = plan_create(workspace=workspace, actor=actor, trial_days=TRIAL_DAYS)
    return Signup(user=user, workspace=workspace, plan=plan)


# ------------------------------------------------------------------------------ outcomes


def _reply_facts(ticket_id: int) -> tuple[bool, int | None]:
    """Whether a human agent replied on the ticket, and its last public (non-note) message: one
    statement (the caller holds the ticket's row lock)."""
    public = Message.objects.filter(ticket_id=OuterRef("pk")).exclude(kind=MessageKind.NOTE)
    human, last = (
        Ticket.objects.filter(pk=ticket_id)
        .order_by()
        .annotate(
            human=Exists(
                Message.objects.filter(ticket_id=OuterRef("pk"), kind=MessageKind.REPLY, author_kind=AuthorKind.AGENT)
            ),
            last=Subquery(public.order_by("-created_at", "-id").values("id")[:1]),
        )
        .values_list("human", "last")
        .get()
    )
    return bool(human), last


def not_an_outcome_reason(*, ticket: Ticket, message: Message) -> str:
    """Why this AI reply does not make the ticket an outcome ("" when it does)."""
    if ticket.ai_decision == ESCALATE:
        return "escalated"
    human_replied, last_public_id = _reply_facts(ticket.pk)
    if human_replied:
        return "human_replied"
    if last_public_id != message.pk:
        return "not_last_reply"
    if is_greeting_only(message.body):
        return "greeting_only"
    return ""


@transaction.atomic
def outcome_track_ai_reply(*, message: Message, actor: Actor | None = None) -> Outcome | None:
    """The AI's reply is the last public one: open (or refresh) the ticket's pending outcome.

    Returns None when the ticket is not an outcome (escalated, human touched, greetings only,
    or a later message exists). An already final outcome is returned unchanged: it is never
    billed twice.
    """
    if message.kind != MessageKind.REPLY or message.author_kind != AuthorKind.AI:
        raise ValidationError({"message": "Only a public AI reply can open an outcome."})
    actor = actor or Actor.system("billing")
    ticket = (
        Ticket.objects.select_for_update(no_key=True, of=("self",))
        .select_related("workspace")
        .get(pk=message.ticket_id)
    )
    outcome = Outcome.objects.select_for_update().filter(ticket=ticket).first()
    reason = not_an_outcome_reason(ticket=ticket, message=message)
    if reason:
        if outcome is not None and outcome.status == OutcomeStatus.PENDING and reason in ("escalated", "human_replied"):
            return outcome_void(outcome=outcome, reason=reason, actor=actor)
        return None if outcome is None or outcome.status == OutcomeStatus.VOIDED else outcome
    if outcome is not None and outcome.status not in (OutcomeStatus.PENDING, OutcomeStatus.VOIDED):
        return outcome
    plan = plan_for(ticket.workspace)
    replied_at = message.created_at
    window_ends_at = replied_at + timedelta(hours=plan.outcome_window_hours)
    if outcome is None:
        outcome = Outcome(
            workspace=ticket.workspace,
            ticket=ticket,
            evidence={
                "ai_replies": [],
                "resolution": None,
                "window_hours": plan.outcome_window_hours,
                "audit_timeline": audit_timeline_url(ticket.pk),
            },
        )
        kind = "outcome.pending"
    else:
        kind = "outcome.refreshed" if outcome.status == OutcomeStatus.PENDING else "outcome.pending"
    outcome.status = OutcomeStatus.PENDING
    outcome.voided_at = None
    outcome.ai_replied_at = replied_at
    outcome.window_ends_at = window_ends_at
    outcome.price = outcome_price(plan=plan, at=replied_at)
    outcome.currency = plan.currency
    replies = outcome.evidence.setdefault("ai_replies", [])
    if message.pk not in replies:
        replies.append(message.pk)
    outcome.evidence["window_ends_at"] = _iso(window_ends_at)
    _history(outcome, "pending", replied_at, message=message.pk)
    outcome.save()
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind=kind,
        data={
            "outcome": outcome.pk,
            "message": message.pk,
            "window_ends_at": window_ends_at,
            "price": outcome.price,
            "currency": outcome.currency,
        },
    )
    return outcome


def _lock_ticket(ticket_id: int) -> None:
    """One lock order for every outcome move: the ticket row, then its outcome (as the Agent
    and `outcome_track_ai_reply` do), then the audit lock; two orders deadlock under load."""
    list(Ticket.objects.select_for_update(no_key=True).filter(pk=ticket_id).values_list("pk", flat=True))


def _locked(outcome: Outcome) -> Outcome:
    _lock_ticket(outcome.ticket_id)
    # Only the outcome row: FOR UPDATE on the joined workspace/ticket rows would block every
    # audit writer's foreign-key check on them while this transaction waits for the audit lock.
    return Outcome.objects.select_for_update(of=("self",)).select_related("workspace", "ticket").get(pk=outcome.pk)


@transaction.atomic
def outcome_confirm(*, outcome: Outcome, actor: Actor, message: Message | None = None) -> Outcome:
    """The customer said it is solved: the outcome is final (billable) now."""
    outcome = _locked(outcome)
    if outcome.status != OutcomeStatus.PENDING:
        raise OutcomeTransitionError(f"Cannot confirm an outcome that is {outcome.status}.")
    now = timezone.now()
    outcome.status = OutcomeStatus.CONFIRMED
    outcome.resolved_at = message.created_at if message is not None else now
    outcome.finalized_at = now
    outcome.evidence["resolution"] = "confirmed"
    if message is not None:
        outcome.evidence["confirmation_message"] = message.pk
    _history(outcome, "confirmed", outcome.resolved_at, message=message.pk if message else None)
    outcome.save()
    audit_record(
        workspace=outcome.workspace,
        ticket=outcome.ticket,
        actor=actor,
        kind="outcome.confirmed",
        data={"outcome": outcome.pk, "message": message.pk if message else None, "price": outcome.price},
    )
    spend_cap_enforce(workspace=outcome.workspace_id)
    return outcome


@transaction.atomic
def outcome_void(*, outcome: Outcome, reason: str, actor: Actor, message: Message | None = None) -> Outcome:
    """Not an outcome after all (the customer came back, a human replied, it was escalated)."""
    outcome = _locked(outcome)
    if outcome.status not in (OutcomeStatus.PENDING, OutcomeStatus.CONFIRMED):
        raise OutcomeTransitionError(f"Cannot void an outcome that is {outcome.status}.")
    now = timezone.now()
    previous = outcome.status
    outcome.status = OutcomeStatus.VOIDED
    outcome.voided_at = now
    outcome.resolved_at = None
    outcome.finalized_at = None
    outcome.evidence["resolution"] = None
    _history(outcome, "voided", now, reason=reason, message=message.pk if message else None)
    outcome.save()
    audit_record(
        workspace=outcome.workspace,
        ticket=outcome.ticket,
        actor=actor,
        kind="outcome.voided",
        data={"outcome": outcome.pk, "from": previous, "reason": reason, "message": message.pk if message else None},
    )
    return outcome


@transaction.atomic
def outcome_credit(*, outcome: Outcome, reason: str, actor: Actor, message: Message | None = None) -> Outcome:
    """Reopened after it was billed: the next invoice carries a credit line for it."""
    outcome = _locked(outcome)
    if outcome.status != OutcomeStatus.BILLED:
        raise OutcomeTransitionError(f"Cannot credit an outcome that is {outcome.status}.")
    now = timezone.now()
    outcome.status = OutcomeStatus.CREDITED
    outcome.credited_at = now
    _history(outcome, "credited", now, reason=reason, message=message.pk if message else None)
    outcome.save()
    audit_record(
        workspace=outcome.workspace,
        ticket=outcome.ticket,
        actor=actor,
        kind="outcome.credited",
        data={"outcome": outcome.pk, "reason": reason, "amount": outcome.price, "currency": outcome.currency},
    )
    return outcome


@transaction.atomic
def outcome_customer_message(*, message: Message) -> Outcome | None:
    """A customer wrote on a ticket that has an outcome: confirm, void or credit it."""
    if message.kind != MessageKind.CUSTOMER:
        return None
    _lock_ticket(message.ticket_id)
    outcome = Outcome.objects.select_for_update().filter(ticket_id=message.ticket_id).first()
    if outcome is None or message.created_at < outcome.ai_replied_at:
        return outcome
    actor = Actor.system("billing")
    if outcome.status == OutcomeStatus.PENDING and is_confirmation(message.body):
        return outcome_confirm(outcome=outcome, actor=actor, message=message)
    if outcome.status == OutcomeStatus.PENDING:
        return outcome_void(outcome=outcome, reason="customer_returned", actor=actor, message=message)
    if outcome.status == OutcomeStatus.CONFIRMED and not is_confirmation(message.body):
        return outcome_void(outcome=outcome, reason="reopened_before_billing", actor=actor, message=message)
    if outcome.status == OutcomeStatus.BILLED and not is_confirmation(message.body):
        return outcome_credit(outcome=outcome, reason="reopened_after_billing", actor=actor, message=message)
    return outcome


# Void pending outcomes whose window ended but whose ticket a human answered or the customer
# came back to (a safety net for a missed hook), then finalise the rest. Both statements are
# conditional on status = 'pending' and skip rows another finaliser holds, so running two at
# once finalises each outcome exactly once.
_VOID_DUE_SQL = """
WITH due AS (
    SELECT o.id FROM billing_outcome o
    WHERE o.status = 'pending' AND o.window_ends_at <= %(now)s
      AND EXISTS (
        SELECT 1 FROM helpdesk_message m
        WHERE m.ticket_id = o.ticket_id
          AND ((m.kind = 'reply' AND m.author_kind = 'agent')
               OR (m.kind = 'customer' AND m.created_at > o.ai_replied_at))
      )
    ORDER BY o.id LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
UPDATE billing_outcome o
SET status = 'voided', voided_at = %(now)s,
    evidence = o.evidence || jsonb_build_object('resolution', NULL, 'voided_reason', 'human_or_customer_after_ai_reply')
FROM due WHERE o.id = due.id AND o.status = 'pending'
RETURNING o.id, o.workspace_id, o.ticket_id
"""

_FINALIZE_DUE_SQL = """
WITH due AS (
    SELECT o.id FROM billing_outcome o
    WHERE o.status = 'pending' AND o.window_ends_at <= %(now)s
    ORDER BY o.window_ends_at, o.id LIMIT %(batch)s
    FOR UPDATE SKIP LOCKED
)
UPDATE billing_outcome o
SET status = 'confirmed', resolved_at = o.window_ends_at, finalized_at = %(now)s,
    evidence = o.evidence || jsonb_build_object('resolution', 'silent_window')
FROM due WHERE o.id = due.id AND o.status = 'pending'
RETURNING o.id, o.workspace_id, o.ticket_id
"""


@transaction.atomic
def _finalize_batch(*, now: datetime, batch_size: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(_VOID_DUE_SQL, {"now": now, "batch": batch_size})
        voided = cursor.fetchall()
        cursor.execute(_FINALIZE_DUE_SQL, {"now": now, "batch": batch_size})
        finalized = cursor.fetchall()
    # One audit event per workspace and batch: a million outcomes must not mean a million
    # chained inserts. The ticket ids are in the event; each outcome's evidence says why.
    workspaces = Workspace.objects.in_bulk({row[1] for row in (*voided, *finalized)})
    for kind, rows in (("outcomes.voided", voided), ("outcomes.finalized", finalized)):
        by_workspace: dict[int, list[tuple[int, int]]] = {}
        for outcome_id, workspace_id, ticket_id in rows:
            by_workspace.setdefault(workspace_id, []).append((outcome_id, ticket_id))
        for workspace_id, items in by_workspace.items():
            audit_record(
                workspace=workspaces[workspace_id],
                actor=Actor.system("billing.finalizer"),
                kind=kind,
                data={
                    "count": len(items),
                    "reason": "silent_window" if kind == "outcomes.finalized" else "human_or_customer_after_ai_reply",
                    "outcomes": [i[0] for i in items],
                    "tickets": [i[1] for i in items],
                },
            )
    # The spend cap is exact only inside the transaction that confirms outcomes (it locks the plan).
    for workspace_id in sorted({row[1] for row in finalized}):
        spend_cap_enforce(workspace=workspace_id)
    return len(finalized), len(voided)


def outcomes_finalize_due(*, now: datetime | None = None, batch_size: int = FINALIZE_BATCH) -> int:
    """Confirm every pending outcome whose silent window has ended; returns how many this call
    finalised. Each batch commits on its own, so a long run never holds a giant transaction."""
    now = now or timezone.now()
    total = 0
    while True:
        finalized, voided = _finalize_batch(now=now, batch_size=batch_size)
        total += finalized
        if finalized < batch_size and voided < batch_size:
            return total


def outcomes_scan(*, since: datetime | None = None) -> dict[str, int]:
    """Find tickets whose last public reply is the AI's (no human reply ever, no outcome yet)
    and track them; void pending outcomes a human has since answered. Candidates come from one
    aggregated query each; only the (few) matches are handled one by one, through the services."""
    since = since or timezone.now() - timedelta(days=7)
    public = Message.objects.filter(ticket=OuterRef("pk")).exclude(kind=MessageKind.NOTE).order_by("-created_at", "-id")
    human_reply = Message.objects.filter(ticket=OuterRef("pk"), kind=MessageKind.REPLY, author_kind=AuthorKind.AGENT)
    candidates = list(
        Ticket.objects.filter(last_message_at__gte=since, outcome__isnull=True)
        .exclude(ai_decision=ESCALATE)
        .annotate(
            last_id=Subquery(public.values("id")[:1]),
            last_kind=Subquery(public.values("kind")[:1]),
            last_author=Subquery(public.values("author_kind")[:1]),
        )
        .filter(last_kind=MessageKind.REPLY, last_author=AuthorKind.AI)
        .exclude(Exists(human_reply))
        .values_list("last_id", flat=True)
    )
    tracked = 0
    for message in Message.objects.filter(pk__in=candidates).order_by("id"):
        if outcome_track_ai_reply(message=message) is not None:
            tracked += 1
    touched = Outcome.objects.filter(status=OutcomeStatus.PENDING).filter(
        Exists(
            Message.objects.filter(ticket=OuterRef("ticket_id"), kind=MessageKind.REPLY, author_kind=AuthorKind.AGENT)
        )
    )
    voided = 0
    for outcome in touched:
        outcome_void(outcome=outcome, reason="human_replied", actor=Actor.system("billing.scan"))
        voided += 1
    return {"tracked": tracked, "voided": voided}


# ------------------------------------------------------------------------------ invoices


def period_bounds(year: int, month: int) -> tuple[date, datetime, datetime]:
    if not 1 <= month <= 12:
        raise ValidationError({"month": "The month is 1 to 12."})
    if not 2000 <= year <= 9998:
        raise ValidationError({"year": "The year is out of range."})
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start.date(), start, end


# Bill every confirmed outcome resolved before the period ends, in one statement: the UPDATE
# re-checks status = 'confirmed' under the row lock, so an outcome voided at the same moment
# is not billed, and the unique (outcome, kind) constraint makes a second bill impossible.
_CHARGE_SQL = """
WITH billed AS (
    UPDATE billing_outcome o SET status = 'billed', billed_at = %(now)s
    WHERE o.workspace_id = %(workspace)s AND o.status = 'confirmed' AND o.resolved_at < %(end)s
    RETURNING o.id, o.ticket_id, o.resolved_at, o.price, o.currency
)
INSERT INTO billing_invoiceline (invoice_id, outcome_id, kind, ticket_number, resolved_at, amount, currency)
SELECT %(invoice)s, b.id, 'charge', t.number, b.resolved_at, b.price, b.currency
FROM billed b JOIN helpdesk_ticket t ON t.id = b.ticket_id
ORDER BY b.resolved_at, t.number, b.id
"""

_CREDIT_SQL = """
INSERT INTO billing_invoiceline (invoice_id, outcome_id, kind, ticket_number, resolved_at, amount, currency)
SELECT %(invoice)s, o.id, 'credit', c.ticket_number, o.credited_at, -c.amount, c.currency
FROM billing_outcome o
JOIN billing_invoiceline c ON c.outcome_id = o.id AND c.kind = 'charge'
WHERE o.workspace_id = %(workspace)s AND o.status = 'credited' AND o.credited_at < %(end)s
  AND NOT EXISTS (SELECT 1 FROM billing_invoiceline x WHERE x.outcome_id = o.id AND x.kind = 'credit')
ORDER BY o.credited_at, c.ticket_number, o.id
"""


@dataclass(frozen=True)
class InvoicePreview:
    """What issuing a month's invoice would bill now: shown to finance before they confirm."""

    period: date
    charges: int
    charged: Decimal
    credits: int
    credited: Decimal
    currency: str

    @property
    def empty(self) -> bool:
        return self.charges == 0 and self.credits == 0


def invoice_preview(*, workspace: Workspace, year: int, month: int) -> InvoicePreview:
    period, _start, end = period_bounds(year, month)
    charged = Outcome.objects.filter(workspace=workspace, status=OutcomeStatus.CONFIRMED, resolved_at__lt=end)
    credited = Outcome.objects.filter(
        workspace=workspace, status=OutcomeStatus.CREDITED, credited_at__lt=end, invoice_lines__kind=LineKind.CHARGE
    ).exclude(invoice_lines__kind=LineKind.CREDIT)
    charges = charged.aggregate(n=Count("pk"), total=Sum("price", default=Decimal("0")))
    credits = credited.aggregate(n=Count("pk"), total=Sum("price", default=Decimal("0")))
    return InvoicePreview(
        period=period,
        charges=charges["n"],
        charged=charges["total"],
        credits=credits["n"],
        credited=credits["total"],
        currency=plan_for(workspace).currency,
    )


EMPTY_PERIOD = (
    "Nothing to invoice for {period:%Y-%m}: no outcome to bill and no credit due; no invoice number was used."
)


@transaction.atomic
def _invoice_issue(*, workspace: Workspace, year: int, month: int, actor: Actor, now: datetime) -> Invoice:
    period, _start, end = period_bounds(year, month)
    plan = plan_for(workspace)
    # The plan row lock serialises invoicing per workspace: numbers without gaps, one per month.
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    existing = Invoice.objects.filter(workspace=workspace, period=period).first()
    if existing is not None:
        return existing
    # Checked under the lock: an invoice number is spent only on an invoice with lines.
    if invoice_preview(workspace=workspace, year=year, month=month).empty:
        raise ValidationError({"period": EMPTY_PERIOD.format(period=period)})
    number = (Invoice.objects.filter(workspace=workspace).aggregate(n=Max("number"))["n"] or 0) + 1
    invoice = Invoice.objects.create(
        workspace=workspace,
        number=number,
        period=period,
        currency=plan.currency,
        tax_rate=plan.tax_rate,
        issued_at=now,
    )
    params: dict[str, Any] = {"now": now, "workspace": workspace.pk, "end": end, "invoice": invoice.pk}
    with connection.cursor() as cursor:
        cursor.execute(_CHARGE_SQL, params)
        cursor.execute(_CREDIT_SQL, params)
    sums = invoice.lines.aggregate(
        charges=Sum("amount", filter=Q(kind=LineKind.CHARGE), default=Decimal("0")),
        credits=Sum("amount", filter=Q(kind=LineKind.CREDIT), default=Decimal("0")),
        n=Count("id"),
    )
    totals = invoice_totals(charges=sums["charges"], credits=sums["credits"], tax_rate=plan.tax_rate)
    invoice.line_count = sums["n"]
    invoice.subtotal, invoice.credits, invoice.tax, invoice.total = (
        totals.subtotal,
        totals.credits,
        totals.tax,
        totals.total,
    )
    invoice.save(update_fields=["line_count", "subtotal", "credits", "tax", "total"])
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="invoice.issued",
        data={
            "invoice": invoice.pk,
            "number": invoice.display_number,
            "period": f"{period:%Y-%m}",
            "lines": invoice.line_count,
            "subtotal": invoice.subtotal,
            "credits": invoice.credits,
            "tax": invoice.tax,
            "total": invoice.total,
            "currency": invoice.currency,
        },
    )
    return invoice


def invoice_generate(
    *, workspace: Workspace, year: int, month: int, actor: Actor | None = None, now: datetime | None = None
) -> Invoice:
    """The workspace's invoice for a finished month. Idempotent: a re-run returns the invoice
    already issued, line for line. Outcomes whose window has ended are finalised first."""
    now = now or timezone.now()
    _period, _start, end = period_bounds(year, month)
    if end > now:
        raise ValidationError({"month": "That month is not over yet; its invoice can be issued from the 1st."})
    existing = Invoice.objects.filter(workspace=workspace, period=_period).first()
    if existing is not None:
        return existing
    outcomes_finalize_due(now=now)
    return _invoice_issue(workspace=workspace, year=year, month=month, actor=actor or Actor.system("billing"), now=now)


def invoices_generate_month(*, year: int, month: int, now: datetime | None = None) -> list[Invoice]:
    """Every workspace's invoice for the month (the monthly schedule calls this)."""
    invoices = []
    for workspace in Workspace.objects.order_by("id"):
        try:
            invoices.append(invoice_generate(workspace=workspace, year=year, month=month, now=now))
        except ValidationError:
            continue  # nothing to bill this month: no invoice, no number spent
    return invoices

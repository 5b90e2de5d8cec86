"""Plans, outcomes (billable AI resolutions) and invoices. Money is Decimal with a currency."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from helpdesk.models import Workspace


class PricingModel(models.TextChoices):
    PER_OUTCOME = "per_outcome", "Per outcome"
    PER_SEAT = "per_seat", "Per seat"
    PER_ATTEMPT = "per_attempt", "Per attempt"


DEFAULT_OUTCOME_PRICE = Decimal("0.50")
DEFAULT_SEAT_PRICE = Decimal("29.00")
DEFAULT_ATTEMPT_PRICE = Decimal("0.10")
TRIAL_DAYS = 14


class Plan(models.Model):
    """What a workspace pays. Billing is per outcome; the other two prices are for comparison."""

    workspace = models.OneToOneField("helpdesk.Workspace", on_delete=models.CASCADE, related_name="plan")
    model = models.CharField(max_length=16, choices=PricingModel.choices, default=PricingModel.PER_OUTCOME)
    price_per_outcome = models.DecimalField(
        max_digits=10, decimal_places=2, default=DEFAULT_OUTCOME_PRICE, validators=[MinValueValidator(Decimal("0"))]
    )
    price_per_seat = models.DecimalField(
        max_digits=10, decimal_places=2, default=DEFAULT_SEAT_PRICE, validators=[MinValueValidator(Decimal("0"))]
    )
    price_per_attempt = models.DecimalField(
        max_digits=10, decimal_places=4, default=DEFAULT_ATTEMPT_PRICE, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    outcome_window_hours = models.PositiveIntegerField(
        default=72, validators=[MinValueValidator(1), MaxValueValidator(24 * 60)]
    )
    trial_ends_at = models.DateTimeField(null=True, blank=True, help_text="Outcomes before this are priced 0.00.")
    tax_rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="A fraction: 0.2000 is 20 %.",
    )
    # The spend cap: outcome charges of a month never pass it (billing.spend_cap).
    monthly_spend_cap = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Monthly cap on outcome charges; blank for none.",
    )
    cap_alert_sent_for = models.DateField(null=True, blank=True, help_text="Month (1st) the 80 % email went out.")
    cap_reached_for = models.DateField(
        null=True, blank=True, help_text="Month (1st) the cap switched the Agent to Copilot-only."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(price_per_outcome__gte=0, price_per_seat__gte=0, price_per_attempt__gte=0),
                name="plan_prices_nonneg",
            ),
            models.CheckConstraint(condition=Q(tax_rate__gte=0, tax_rate__lte=1), name="plan_tax_rate_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} plan ({self.get_model_display()})"


class OutcomeStatus(models.TextChoices):
    PENDING = "pending", "Pending (window open)"
    CONFIRMED = "confirmed", "Confirmed (billable)"
    BILLED = "billed", "Billed"
    VOIDED = "voided", "Voided"
    CREDITED = "credited", "Credited (reopened after billing)"


class OutcomeQuerySet(models.QuerySet["Outcome"]):
    def for_workspace(self, workspace: Workspace | int) -> OutcomeQuerySet:
        return self.filter(workspace=workspace)

    def billable(self) -> OutcomeQuerySet:
        return self.filter(status__in=[OutcomeStatus.CONFIRMED, OutcomeStatus.BILLED])


class Outcome(models.Model):
    """A ticket the AI resolved; at most one per ticket (the OneToOne is the database constraint)."""

    workspace = models.ForeignKey("helpdesk.Workspace", on_delete=models.PROTECT, related_name="outcomes")
    ticket = models.OneToOneField("helpdesk.Ticket", on_delete=models.PROTECT, related_name="outcome")
    status = models.CharField(max_length=16, choices=OutcomeStatus.choices, default=OutcomeStatus.PENDING)
    evidence = models.JSONField(default=dict, blank=True)
    ai_replied_at = models.DateTimeField()
    window_ends_at = models.DateTimeField()
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When it became final: the confirmation, or the end of the silent window."
    )
    finalized_at = models.DateTimeField(null=True, blank=True)
    billed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OutcomeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="outcome_price_nonneg"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "voided"]) | Q(resolved_at__isnull=False),
                name="outcome_final_has_resolved_at",
            ),
        ]
        indexes = [
            # The finaliser's scan: pending rows whose window has ended.
            models.Index(fields=["window_ends_at"], condition=Q(status="pending"), name="outcome_pending_due"),
            models.Index(fields=["workspace", "status", "resolved_at"], name="outcome_ws_status_resolved"),
        ]

    def __str__(self) -> str:
        return f"Outcome of ticket {self.ticket_id} ({self.status})"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"


class Invoice(models.Model):
    """One workspace's bill for one month; (workspace, period) is unique so a re-run returns it."""

    workspace = models.ForeignKey("helpdesk.Workspace", on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField(help_text="Sequential per workspace, without gaps.")
    period = models.DateField(help_text="The first day of the billed month.")
    status = models.CharField(max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    currency = models.CharField(max_length=3)
    line_count = models.PositiveIntegerField(default=0)
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    credits = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"), help_text="Zero or negative.")
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0"))
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-period", "workspace_id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "period"], name="invoice_unique_period"),
            models.UniqueConstraint(fields=["workspace", "number"], name="invoice_unique_number"),
            models.CheckConstraint(condition=Q(credits__lte=0), name="invoice_credits_nonpos"),
        ]

    def __str__(self) -> str:
        return f"{self.display_number} ({self.period:%Y-%m})"

    @property
    def display_number(self) -> str:
        return f"INV-{self.workspace_id}-{self.number:05d}"


class LineKind(models.TextChoices):
    CHARGE = "charge", "Outcome"
    CREDIT = "credit", "Credit (reopened after billing)"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    outcome = models.ForeignKey(Outcome, on_delete=models.PROTECT, related_name="invoice_lines")
    kind = models.CharField(max_length=8, choices=LineKind.choices, default=LineKind.CHARGE)
    ticket_number = models.PositiveIntegerField()
    resolved_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Never billed twice, never credited twice.
            models.UniqueConstraint(fields=["outcome", "kind"], name="invoiceline_unique_outcome_kind"),
            models.CheckConstraint(
                condition=(Q(kind="charge", amount__gte=0) | Q(kind="credit", amount__lte=0)),
                name="invoiceline_sign_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["invoice", "id"], name="invoiceline_invoice_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ticket #{self.ticket_number}: {self.amount} {self.currency}"

"""The built-in shop's ledger: every change the shop connector makes, once per idempotency key.

Part of the helpdesk.models package (its __init__ imports it, so Django sees it). The audit log
keeps a `shop.*` event of each movement as evidence; what the shop decides (what is left to
refund, whether a retried call already ran) is read from here, never from the audit log, so
pruning the audit log changes no decision.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from helpdesk.models.core import Order, OrderStatus, Ticket, Workspace


class ShopMovementKind(models.TextChoices):
    REFUND = "refund", "Refund"
    REPLACEMENT = "replacement", "Replacement"
    ADDRESS_CHANGE = "address_change", "Shipping address change"
    CANCELLATION = "cancellation", "Cancellation"
    PASSWORD_RESET = "password_reset", "Password reset"
    EMAIL_CHANGE = "email_change", "E-mail change request"
    APPOINTMENT = "appointment", "Appointment"
    RETURN_OPENED = "return_opened", "Return opened (refund waits for the item)"


class ShopMovement(models.Model):
    """One change made by the built-in shop connector.

    `key` is the caller's idempotency key: a retry with the same key gets `result` back and
    changes nothing. A refund's `amount` is added to `Order.refunded_total` in the same
    transaction, and that column's CHECK keeps the sum within the order's total.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="shop_movements")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="movements")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="shop_movements")
    kind = models.CharField(max_length=32, choices=ShopMovementKind.choices)
    key = models.CharField(max_length=128, help_text="Idempotency key: one movement per key and workspace.")
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    confirmation = models.CharField(max_length=64, blank=True)
    actor = models.CharField(max_length=255)
    result = models.JSONField(default=dict, help_text="What the call returned; a retry gets it again.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workspace_id", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="shopmovement_unique_key"),
            models.CheckConstraint(
                condition=(
                    models.Q(kind=ShopMovementKind.REFUND, amount__gt=Decimal("0"))
                    | (~models.Q(kind=ShopMovementKind.REFUND) & models.Q(amount__isnull=True))
                ),
                name="shopmovement_refund_amount",
            ),
        ]
        indexes = [models.Index(fields=["order", "created_at"], name="shopmovement_order_time")]

    def __str__(self) -> str:
        amount = f" {self.amount} {self.currency}" if self.amount is not None else ""
        return f"{self.get_kind_display()}{amount} ({self.confirmation})"


class OrderStatusWord(models.Model):
    """One of the shop's own order status words and the canonical status the policy reads for it.

    The order keeps the shop's word as it is (`Order.status`); the tools' policy checks (shipped
    or not, delivered, cancelled) read the canonical status through `helpdesk.order_status`.
    `key` is the word folded (lower case, spaces and hyphens as underscores), so "On hold",
    "on-hold" and "on_hold" are one word.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="order_status_words")
    word = models.CharField(max_length=64, help_text="The status as your shop writes it, e.g. on_hold.")
    key = models.CharField(max_length=64, editable=False)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, help_text="What it means for the policy checks."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["workspace_id", "key"]
        verbose_name = "order status word"
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="orderstatusword_unique_key")]

    def __str__(self) -> str:
        return f"{self.word} → {self.status}"


__all__ = ["OrderStatusWord", "ShopMovement", "ShopMovementKind"]

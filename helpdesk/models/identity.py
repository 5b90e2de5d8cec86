"""Who a ticket's customer is proven to be, per channel, as data.

A typed-in address (the contact form, an unsigned chat visitor, an e-mail `From:`) proves
nothing; a `CustomerVerification` row says how the customer of one ticket was proven, and
only then may the AI's order and account tools act for them. A `MagicLink` is how a customer
who wrote without proof confirms it later: it goes to the address on file, never to one
written in a message.

Part of the helpdesk.models package (its __init__ imports it, so Django sees it).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from helpdesk.models.core import Customer, Ticket, Workspace


class VerificationMethod(models.TextChoices):
    WIDGET_TOKEN = "widget_token", "signed widget identity"
    PORTAL = "portal", "portal link"
    MAGIC_LINK = "magic_link", "magic link"
    EMAIL_AUTH = "email_auth", "DKIM/DMARC"
    API_TOKEN = "api_token", "customer API key"
    TRIAL_IMPORT = "trial_import", "trusted import"


class CustomerVerification(models.Model):
    """One proof that `customer` is who wrote on `ticket` (at most one row per method)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="customer_verifications")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="verifications")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="verifications")
    method = models.CharField(max_length=16, choices=VerificationMethod.choices)
    verified_at = models.DateTimeField(default=timezone.now)
    evidence = models.JSONField(default=dict, blank=True, help_text="What proved it (e.g. the relay's verdict).")

    class Meta:
        ordering = ["verified_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "customer", "method"], name="verification_once_per_method"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} verified on {self.ticket_id} by {self.method}"


class MagicLinkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    USED = "used", "Used"
    EXPIRED = "expired", "Expired"


def _nonce() -> str:
    return secrets.token_urlsafe(16)


class MagicLink(models.Model):
    """A single-use link e-mailed to the customer on file; clicking it (a POST) verifies them."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="magic_links")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="magic_links")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="magic_links")
    sent_to = models.EmailField(help_text="The customer's address on file when the link was made.")
    # Signed into the link with the row id: a link cannot be made for a row without the secret key.
    nonce = models.CharField(max_length=32, default=_nonce)
    status = models.CharField(max_length=8, choices=MagicLinkStatus.choices, default=MagicLinkStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    email_sent_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One pending link per ticket: the Agent asks again only once it was used or expired.
            models.UniqueConstraint(
                fields=["ticket"], condition=models.Q(status="pending"), name="magiclink_one_pending_per_ticket"
            ),
        ]

    def __str__(self) -> str:
        return f"Magic link {self.pk} on {self.ticket_id} ({self.status})"


__all__ = ["CustomerVerification", "MagicLink", "MagicLinkStatus", "VerificationMethod"]

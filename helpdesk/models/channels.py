"""Tables of the customer-facing channels: chat sessions, widget secrets, feedback,
attachments, business hours and the fixed-window rate-limit counters.

Part of the helpdesk.models package (its __init__ imports it, so Django sees it).
"""

from __future__ import annotations

import secrets

from django.db import models

from helpdesk.models.core import Channel, Message, Ticket, Workspace


def _widget_secret() -> str:
    return secrets.token_hex(32)


class WidgetSettings(models.Model):
    """Per-workspace chat widget configuration: the HMAC secret that signs identity tokens."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="widget_settings")
    secret = models.CharField(
        max_length=128,
        default=_widget_secret,
        help_text="Shared with the merchant's server only: it signs customer identity tokens.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "widget settings"

    def __str__(self) -> str:
        return f"Widget of {self.workspace}"


class ChatSession(models.Model):
    """One visitor's conversation in the widget; its bearer token is stored hashed (SHA-256)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="chat_sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    name = models.CharField(max_length=200, blank=True)
    # True only when the merchant vouched for the identity with a signed token; an unverified
    # visitor typed an email anyone could type, so the AI's tools must not act on that account.
    verified = models.BooleanField(default=False)
    # SHA-256 of the identity token that started a verified session: a token starts one session.
    identity_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="chat_sessions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ticket"], name="chatsession_ticket")]

    def __str__(self) -> str:
        return f"Chat session {self.pk} ({self.email})"


class ChatMessageKey(models.Model):
    """The client-generated id of a posted chat message: a repost returns the same message."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="message_keys")
    client_id = models.CharField(max_length=64)
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="chat_key")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "client_id"], name="chatmessagekey_unique_client_id"),
        ]

    def __str__(self) -> str:
        return self.client_id


class CustomerFeedback(models.Model):
    """The customer's answer to "Did this solve it?" for one AI reply (at most one per reply)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="customer_feedback")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="customer_feedback")
    solved = models.BooleanField()
    source = models.CharField(max_length=16)  # chat | portal | email
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{'solved' if self.solved else 'not solved'} on {self.ticket_id}"


class Attachment(models.Model):
    """A file a customer attached to the contact form; bytes kept in the database, size-capped."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(size__lte=5 * 1024 * 1024), name="attachment_max_5mb"),
        ]

    def __str__(self) -> str:
        return self.filename


class BusinessHours(models.Model):
    """When people answer on one channel; `hours` maps weekday (0=Monday) to ["HH:MM", "HH:MM"] ranges."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="business_hours")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    timezone = models.CharField(max_length=64, default="UTC")
    hours = models.JSONField(
        default=dict,
        help_text='{"0": [["09:00", "17:00"]], ..., "4": [["09:00", "17:00"]]}; missing days are closed.',
    )

    class Meta:
        verbose_name_plural = "business hours"
        constraints = [
            models.UniqueConstraint(fields=["workspace", "channel"], name="businesshours_unique_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.workspace} {self.channel} hours"


class RateCounter(models.Model):
    """A fixed-window hit counter (an UNLOGGED table: losing it in a crash only resets limits)."""

    key = models.CharField(max_length=200)
    window_start = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratecounter_unique_window"),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.window_start}: {self.hits}"


__all__ = [
    "Attachment",
    "BusinessHours",
    "ChatMessageKey",
    "ChatSession",
    "CustomerFeedback",
    "RateCounter",
    "WidgetSettings",
]

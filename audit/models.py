from __future__ import annotations

from typing import Any

from django.db import models


class ActorKind(models.TextChoices):
    USER = "user", "Staff user"
    CUSTOMER = "customer", "Customer"
    AI = "ai", "AI"
    SYSTEM = "system", "System"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_workspace(self, workspace_id: int) -> AuditEventQuerySet:
        return self.filter(workspace_id=workspace_id)

    def for_ticket(self, ticket_id: int) -> AuditEventQuerySet:
        return self.filter(ticket_id=ticket_id)


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):  # type: ignore[misc]
    def get_queryset(self) -> AuditEventQuerySet:
        # Events are written when their transaction commits (audit.services.audit_record):
        # a read in the same transaction writes them first, so it sees its own events.
        from audit.services import audit_flush

        audit_flush()
        return super().get_queryset()  # type: ignore[no-any-return]


class AuditEvent(models.Model):
    """One append-only row of a workspace's hash chain.

    A trigger (migration 0002) refuses UPDATE and DELETE; `hash` covers every field and the
    previous row's hash, so an edit made with the trigger disabled or a removed row is
    found by `audit_verify`.
    """

    workspace = models.ForeignKey("helpdesk.Workspace", on_delete=models.PROTECT, related_name="audit_events")
    ticket = models.ForeignKey(
        "helpdesk.Ticket",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    seq = models.PositiveBigIntegerField()
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.CharField(max_length=255, help_text="Who acted: a user's email, 'ai:<model>', …")
    kind = models.CharField(max_length=64, db_index=True)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    objects = AuditEventManager()

    class Meta:
        ordering = ["workspace_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="audit_unique_seq"),
        ]
        indexes = [
            models.Index(fields=["ticket", "seq"], name="audit_ticket_seq"),
            models.Index(fields=["workspace", "kind", "created_at"], name="audit_ws_kind_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} by {self.actor}"

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace_id,
            "ticket": self.ticket_id,
            "seq": self.seq,
            "actor_kind": self.actor_kind,
            "actor": self.actor,
            "kind": self.kind,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "created_at": self.created_at.isoformat(),
        }


class AuditCheckpoint(models.Model):
    """Where a workspace's chain resumes after retention pruned its older events.

    The events up to `seq` were archived to `archived_to` (an export file that verifies on its
    own) and then deleted; `hash` is the last pruned event's hash, so the remaining chain
    verifies from here. A trigger keeps these rows append-only as well.
    """

    workspace = models.ForeignKey("helpdesk.Workspace", on_delete=models.PROTECT, related_name="audit_checkpoints")
    seq = models.PositiveBigIntegerField(help_text="The last pruned event's seq.")
    hash = models.CharField(max_length=64, help_text="The last pruned event's hash.")
    pruned = models.PositiveBigIntegerField(default=0, help_text="How many events this prune removed.")
    archived_to = models.CharField(max_length=500)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["workspace_id", "-seq"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="audit_checkpoint_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"checkpoint at #{self.seq}"

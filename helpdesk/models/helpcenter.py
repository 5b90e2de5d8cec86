"""A help center connected by URL, and each of its syncs (part of the helpdesk.models package)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from helpdesk.models.core import Workspace


class SourceKind(models.TextChoices):
    AUTO = "auto", "Find out (Zendesk Help Center API, else the site)"
    ZENDESK = "zendesk", "Zendesk Help Center (its articles API)"
    SITE = "site", "Any site (sitemap, else links)"


class HelpCenterSource(models.Model):
    """A shop's live help center, imported by URL and re-synced on a schedule.

    Its articles carry `source = "url:<id>"`; a page the source no longer has is unpublished
    (kept as a draft), never deleted.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="helpcenter_sources")
    url = models.URLField(max_length=500, help_text="The help center's address, e.g. https://help.example.com/")
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.AUTO)
    locale = models.CharField(max_length=16, blank=True, help_text="Zendesk locale (blank: its default one).")
    page_cap = models.PositiveIntegerField(default=500, help_text="At most this many pages or articles per sync.")
    resync_hours = models.PositiveIntegerField(default=24, help_text="Re-sync every this many hours (0: only by hand).")
    created_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workspace_id", "url"]
        verbose_name = "help center by URL"
        verbose_name_plural = "help centers by URL"
        constraints = [models.UniqueConstraint(fields=["workspace", "url"], name="helpcentersource_unique_url")]

    def __str__(self) -> str:
        return self.url

    @property
    def article_source(self) -> str:
        return f"url:{self.pk}"


class SyncStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class HelpCenterSync(models.Model):
    """One crawl of a source: its progress while it runs, its report when done."""

    source = models.ForeignKey(HelpCenterSource, on_delete=models.CASCADE, related_name="syncs")
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.QUEUED)
    progress = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "help center sync"

    def __str__(self) -> str:
        return f"sync {self.pk} of {self.source} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.progress / self.total) if self.total else 0


__all__ = ["HelpCenterSource", "HelpCenterSync", "SourceKind", "SyncStatus"]

"""Admin for help centers connected by URL: connect, sync now, follow a sync's progress and read its
report (the pages left out and why). helpdesk/admin.py registers these (this module does not)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from audit.services import Actor
from helpdesk.access import MANAGER_ROLES
from helpdesk.admin import ScopedAdmin, ScopedInline
from helpdesk.helpcenter_crawl.sync import source_connect, sync_start
from helpdesk.models import HelpCenterSource, HelpCenterSync, SyncStatus


def progress_bar(sync: HelpCenterSync) -> SafeString:
    running = sync.status in (SyncStatus.QUEUED, SyncStatus.RUNNING)
    return format_html(
        '<progress max="100" value="{}"{}>{} %</progress> {} of {} pages',
        sync.percent,
        format_html(" data-sync-running") if running else "",
        sync.percent,
        sync.progress,
        sync.total,
    )


class HelpCenterSyncInline(ScopedInline):
    model = HelpCenterSync
    workspace_lookup = "source__workspace_id"
    fields = ("created_at", "status", "progress_shown", "finished_at", "error")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-created_at",)

    @admin.display(description="progress")
    def progress_shown(self, obj: HelpCenterSync) -> SafeString:
        return progress_bar(obj)


class HelpCenterSourceAdmin(ScopedAdmin):
    edit_roles = MANAGER_ROLES
    list_display = ("url", "workspace", "kind", "page_cap", "resync_hours", "last_synced_at")
    list_filter = ("kind", "workspace")
    fields = ("workspace", "url", "kind", "locale", "page_cap", "resync_hours", "last_synced_at")
    readonly_fields = ("last_synced_at",)
    inlines = (HelpCenterSyncInline,)
    actions = ["sync_now"]

    class Media:
        js = ("js/admin-sync-progress.js",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, None)

    def save_model(self, request: HttpRequest, obj: HelpCenterSource, form: Any, change: bool) -> None:
        actor = Actor.for_user(request.user)
        saved = source_connect(
            workspace=obj.workspace,
            url=obj.url,
            actor=actor,
            kind=obj.kind,
            locale=obj.locale,
            page_cap=obj.page_cap,
            resync_hours=obj.resync_hours,
            source=obj if change else None,
        )
        obj.pk = saved.pk
        if not change:
            sync_start(source=saved, actor=actor, user_id=request.user.pk)
            self.message_user(request, "Connected; the first sync is running (its progress is below).")

    @admin.action(description="Sync now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[HelpCenterSource]) -> None:
        for source in queryset.select_related("workspace"):
            if not self._may_edit(request, source):
                raise PermissionDenied
            sync_start(source=source, actor=Actor.for_user(request.user), user_id=request.user.pk)
        self.message_user(request, f"{queryset.count()} sync(s) queued.", messages.SUCCESS)


class HelpCenterSyncAdmin(ScopedAdmin):
    workspace_lookup = "source__workspace_id"
    list_display = ("source", "status", "progress_shown", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("source",)
    fields = ("source", "status", "progress_shown", "created_at", "finished_at", "error", "report_shown")
    readonly_fields = fields

    class Media:
        js = ("js/admin-sync-progress.js",)

    @admin.display(description="progress")
    def progress_shown(self, obj: HelpCenterSync) -> SafeString:
        return progress_bar(obj)

    @admin.display(description="report")
    def report_shown(self, obj: HelpCenterSync) -> SafeString:
        report = obj.report or {}
        counts = ", ".join(
            f"{k} {report[k]}" for k in ("pages", "created", "updated", "unchanged", "unpublished") if k in report
        )
        skipped = format_html_join("", "<li>{}: {}</li>", ((e["url"], e["reason"]) for e in report.get("skipped", [])))
        failed = format_html_join("", "<li>{}: {}</li>", ((e["page"], e["reason"]) for e in report.get("failed", [])))
        return format_html(
            "<p>{}</p><h4>Pages left out</h4><ul>{}</ul><h4>Pages that failed</h4><ul>{}</ul>", counts, skipped, failed
        )

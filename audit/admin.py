"""Audit log review in the back office: read-only, scoped to the reviewer's workspaces."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.models import AuditEvent
from helpdesk.models import Membership


def _workspace_ids(request: HttpRequest) -> list[int]:
    return list(Membership.objects.filter(user_id=request.user.pk or 0).values_list("workspace_id", flat=True))


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The chain is append-only in the database too; the admin offers no way to even try."""

    list_display = ("seq", "workspace", "ticket", "kind", "actor_kind", "actor", "created_at")
    list_display_links = ("seq", "kind")
    list_filter = ("kind", "actor_kind", ("workspace", admin.RelatedOnlyFieldListFilter))
    search_fields = ("=ticket__number", "actor", "kind")
    list_select_related = ("workspace", "ticket")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-seq")
    fields = (
        "workspace",
        "ticket",
        "seq",
        "kind",
        "actor_kind",
        "actor",
        "created_at",
        "data_pretty",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description="data")
    def data_pretty(self, obj: AuditEvent) -> SafeString:
        return format_html(
            '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
            json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(workspace_id__in=_workspace_ids(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or (request.user.is_staff and _workspace_ids(request)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if request.user.is_superuser:
            return True
        if not request.user.is_staff:
            return False
        ids = _workspace_ids(request)
        return bool(ids) if obj is None else obj.workspace_id in ids

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

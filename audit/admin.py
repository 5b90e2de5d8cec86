"""Audit log review in the back office: read-only, scoped to the reviewer's workspaces."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit.hooks import event_filters, event_groups
from audit.models import AuditCheckpoint, AuditEvent
from audit.timeline import card_anchor
from audit.views import timeline_context
from helpdesk.access import ticket_for_user
from helpdesk.models import Membership, Ticket, TicketType

if TYPE_CHECKING:
    from django.contrib.admin.options import _ListFilterT


def _workspace_ids(request: HttpRequest) -> list[int]:
    return list(Membership.objects.filter(user_id=request.user.pk or 0).values_list("workspace_id", flat=True))


class KindGroupFilter(admin.SimpleListFilter):
    title = "kind of event"
    parameter_name = "group"

    # Audit's own groups; the apps above register theirs (audit.hooks), listed first.
    GROUPS = {
        "setting": ("Setting change", Q(kind__in=["settings.changed", "workspace.settings_changed"])),
        "login": ("Login", Q(kind="user.login")),
    }

    def groups(self) -> dict[str, tuple[str, Q]]:
        return {**event_groups(), **self.GROUPS}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.groups().items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        group = self.groups().get(self.value() or "")
        return queryset.filter(group[1]) if group else queryset


class ActorFilter(admin.SimpleListFilter):
    """The actors seen in the reviewer's workspaces (the 50 most frequent)."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actors = (
            model_admin.get_queryset(request)
            .order_by()
            .values_list("actor", flat=True)
            .distinct()
            .order_by("actor")[:50]
        )
        return [(actor, actor) for actor in actors]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(actor=self.value()) if self.value() else queryset


class TicketTypeFilter(admin.SimpleListFilter):
    title = "ticket type"
    parameter_name = "ticket_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(value), str(label)) for value, label in TicketType.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(ticket__ticket_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The chain is append-only in the database too; the admin offers no way to even try."""

    class Media:
        css = {"all": ["css/admin-extra.css"]}

    list_display = ("seq", "workspace", "ticket", "kind", "actor_kind", "actor", "created_at", "timeline_link")
    list_display_links = ("seq", "kind")
    list_filter = (
        KindGroupFilter,
        ActorFilter,
        "actor_kind",
        TicketTypeFilter,
        "kind",
        ("workspace", admin.RelatedOnlyFieldListFilter),
    )
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

    def get_list_filter(self, request: HttpRequest) -> list[_ListFilterT]:
        # The filters the apps above register (audit.hooks) read the events with their eyes.
        filters = list(super().get_list_filter(request))
        at = filters.index(TicketTypeFilter) + 1
        return [*filters[:at], *event_filters(), *filters[at:]]

    @admin.display(description="data")
    def data_pretty(self, obj: AuditEvent) -> SafeString:
        return format_html(
            '<pre class="pre-wrap">{}</pre>',
            json.dumps(obj.data, indent=2, sort_keys=True, ensure_ascii=False),
        )

    @admin.display(description="timeline")
    def timeline_link(self, obj: AuditEvent) -> str:
        if obj.ticket_id is None:
            return ""
        url = reverse("admin:audit_auditevent_ticket_timeline", args=[obj.ticket_id])
        anchor = card_anchor(obj.data) if isinstance(obj.data, dict) else ""
        return format_html('<a href="{}{}">timeline</a>', url, f"#{anchor}" if anchor else "")

    def get_urls(self) -> list[URLPattern]:
        timeline = path(
            "ticket/<int:ticket_id>/timeline/",
            self.admin_site.admin_view(self.ticket_timeline_view),
            name="audit_auditevent_ticket_timeline",
        )
        return [timeline, *super().get_urls()]

    def ticket_timeline_view(self, request: HttpRequest, ticket_id: int) -> HttpResponse:
        """The per-ticket timeline inside the admin: superusers see any ticket, staff their workspaces'."""
        if request.user.is_superuser:
            ticket = Ticket.objects.select_related("workspace", "customer").filter(pk=ticket_id).first()
            if ticket is None:
                raise Http404("No such ticket.")
        else:
            if not self.has_view_permission(request):
                raise Http404("No such ticket.")
            ticket = ticket_for_user(user=request.user, ticket_id=ticket_id)
        context = {
            **self.admin_site.each_context(request),
            **timeline_context(ticket),
            "title": f"Audit trail of ticket #{ticket.number}",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "audit/admin_timeline.html", context)

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


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Where each workspace's chain resumes after retention; read-only like the events."""

    list_display = ("workspace", "seq", "pruned", "archived_to", "created_at")
    readonly_fields = ("workspace", "seq", "hash", "pruned", "archived_to", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditCheckpoint]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(workspace_id__in=_workspace_ids(request))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser or (request.user.is_staff and _workspace_ids(request)))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

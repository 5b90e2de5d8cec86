"""Admin of the manager controls: the kill switch (one-click pause/resume actions) and alerts.

Scoped like the rest of the back office: managers and admins act on their own workspaces,
and every change goes through ai.controls (audited with who and why).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from ai.controls import agent_pause, agent_resume
from ai.models import AgentPause, AlertSettings
from audit.services import Actor, audit_record
from helpdesk.access import MANAGER_ROLES
from helpdesk.admin import ScopedAdmin


@admin.register(AgentPause)
class AgentPauseAdmin(ScopedAdmin):
    edit_roles = MANAGER_ROLES
    list_display = ["workspace", "scope_label", "reason", "paused_by", "paused_at", "resumed_at", "resumed_by"]
    list_filter = ["workspace", "channel", ("resumed_at", admin.EmptyFieldListFilter)]
    actions = ["resume_selected", "pause_again"]
    fields = ["workspace", "channel", "reason"]

    @admin.display(description="Scope")
    def scope_label(self, obj: AgentPause) -> str:
        return obj.get_channel_display() if obj.channel else "All channels"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, None)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A pause is history: it is ended by resuming, never edited.
        return ["workspace", "channel", "reason"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: AgentPause, form: Any, change: bool) -> None:
        if change:
            return
        pause = agent_pause(
            workspace=obj.workspace, channel=obj.channel, actor=Actor.for_user(request.user), reason=obj.reason
        )
        obj.pk = pause.pk

    def _editable(self, request: HttpRequest, queryset: QuerySet[AgentPause]) -> list[AgentPause]:
        return [p for p in queryset.select_related("workspace") if self._may_edit(request, p)]

    @admin.action(description="Resume the AI (end the selected pauses)")
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[AgentPause]) -> None:
        done = 0
        for pause in self._editable(request, queryset.filter(resumed_at__isnull=True)):
            if agent_resume(
                workspace=pause.workspace, channel=pause.channel, actor=Actor.for_user(request.user), reason="admin"
            ):
                done += 1
        self.message_user(request, f"Resumed {done} pause(s).", messages.SUCCESS)

    @admin.action(description="Pause the AI again (same scope and reason)")
    def pause_again(self, request: HttpRequest, queryset: QuerySet[AgentPause]) -> None:
        done = 0
        for pause in self._editable(request, queryset):
            try:
                agent_pause(
                    workspace=pause.workspace,
                    channel=pause.channel,
                    actor=Actor.for_user(request.user),
                    reason=pause.reason,
                )
                done += 1
            except ValidationError as exc:
                self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        self.message_user(request, f"Paused {done} scope(s).", messages.WARNING)


@admin.register(AlertSettings)
class AlertSettingsAdmin(ScopedAdmin):
    edit_roles = MANAGER_ROLES
    list_display = [
        "workspace",
        "enabled",
        "approval_wait_minutes",
        "escalation_jump_factor",
        "escalation_min_count",
        "provider_failures_per_hour",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request, None)

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: AlertSettings, form: Any, change: bool) -> None:
        before = {f: form.initial.get(f) for f in form.changed_data} if change else {}
        super().save_model(request, obj, form, change)
        audit_record(
            workspace=obj.workspace,
            actor=Actor.for_user(request.user),
            kind="settings.changed",
            data={
                "model": "AlertSettings",
                "object": obj.pk,
                "before": before,
                "after": {f: getattr(obj, f) for f in form.changed_data},
            },
        )

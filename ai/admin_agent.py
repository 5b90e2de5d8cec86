"""Admin for the Agent: AI settings, confidence rules (with a preview), runs, calibration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from ai.agent.decide import percent
from ai.agent.settings import ai_settings_save, confidence_rule_delete, confidence_rule_save
from ai.calibration import reliability_svg
from ai.models import AgentRun, AISettings, CalibrationMap, ConfidenceRule
from audit.services import Actor
from helpdesk.admin import InternalAdmin, ManagedSettingsAdmin, ScopedAdmin
from helpdesk.forms import PercentField
from helpdesk.models import HUMAN_NEEDED_TYPES, WorkspaceMode

PREVIEW_DAYS = 30


class AISettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    mode = forms.ChoiceField(
        label="AI mode",
        choices=WorkspaceMode.choices,
        help_text="Copilot only: the AI drafts, people send. Agent mode: the AI answers on its own when its "
        "confidence reaches the threshold and no approval rule holds the reply.",
    )
    default_threshold = PercentField(
        label="Default autosend threshold (%)",
        help_text="Used where no autosend threshold below is more specific. 85 means 85 %.",
    )

    class Meta:
        model = AISettings
        fields = [
            "workspace",
            "chat_provider",
            "chat_base_url",
            "chat_model",
            "chat_api_key_env",
            "time_budget_seconds",
            "default_threshold",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["mode"].initial = self.instance.workspace.mode


@admin.register(AISettings)
class AISettingsAdmin(ManagedSettingsAdmin):
    form = AISettingsForm
    list_display = [
        "workspace",
        "workspace_mode",
        "threshold_percent",
        "chat_provider",
        "chat_model",
        "time_budget_seconds",
    ]
    fieldsets = [
        (None, {"fields": ["workspace", "mode", "default_threshold"]}),
        (
            "AI provider",
            {"fields": ["chat_provider", "chat_base_url", "chat_model", "chat_api_key_env", "time_budget_seconds"]},
        ),
    ]

    @admin.display(description="AI mode")
    def workspace_mode(self, obj: AISettings) -> str:
        return obj.workspace.get_mode_display()

    @admin.display(description="default threshold")
    def threshold_percent(self, obj: AISettings) -> str:
        return percent(obj.default_threshold)

    def save_model(self, request: HttpRequest, obj: AISettings, form: Any, change: bool) -> None:
        ai_settings_save(obj=obj, actor=Actor.for_user(request.user), mode=form.cleaned_data.get("mode"))


class ConfidenceRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    autosend_threshold = PercentField(
        label="Autosend threshold (%)",
        help_text="The AI sends on its own at or above this confidence; below it, a person reviews the draft.",
    )

    class Meta:
        model = ConfidenceRule
        fields = ["workspace", "channel", "ticket_type", "autosend_threshold"]
        labels = {"channel": "Channel (blank: every channel)", "ticket_type": "Ticket type (blank: every type)"}


def preview_counts(rule: ConfidenceRule, days: int = PREVIEW_DAYS) -> tuple[int, int]:
    """(would autosend, in scope) over the workspace's recent agent runs for this rule."""
    runs = AgentRun.objects.filter(
        workspace_id=rule.workspace_id,
        kind="agent",
        confidence__isnull=False,
        created_at__gte=timezone.now() - timedelta(days=days),
    ).exclude(ticket_type__in=list(HUMAN_NEEDED_TYPES))
    if rule.channel:
        runs = runs.filter(ticket__channel=rule.channel)
    if rule.ticket_type:
        runs = runs.filter(ticket_type=rule.ticket_type)
    return runs.filter(confidence__gte=rule.autosend_threshold).count(), runs.count()


@admin.register(ConfidenceRule)
class ConfidenceRuleAdmin(ManagedSettingsAdmin):
    form = ConfidenceRuleForm
    deletable = True
    list_display = ["__str__", "workspace", "channel", "ticket_type", "threshold_percent", "preview"]
    list_filter = ["workspace", "channel", "ticket_type"]
    readonly_fields = ["preview"]

    @admin.display(description="threshold")
    def threshold_percent(self, obj: ConfidenceRule) -> str:
        return percent(obj.autosend_threshold)

    @admin.display(description=f"would have autosent (last {PREVIEW_DAYS} days)")
    def preview(self, obj: ConfidenceRule) -> str:
        if not obj.pk:
            return "-"
        sent, total = preview_counts(obj)
        return f"{sent} of {total} tickets"

    def save_model(self, request: HttpRequest, obj: ConfidenceRule, form: Any, change: bool) -> None:
        confidence_rule_save(rule=obj, actor=Actor.for_user(request.user))

    def delete_model(self, request: HttpRequest, obj: ConfidenceRule) -> None:
        confidence_rule_delete(rule=obj, actor=Actor.for_user(request.user))


@admin.register(AgentRun)
class AgentRunAdmin(ScopedAdmin):
    list_display = [
        "pk",
        "ticket",
        "kind",
        "status",
        "ticket_type",
        "language",
        "confidence",
        "decision",
        "reason",
        "created_at",
    ]
    list_filter = ["kind", "status", "decision", "ticket_type", "workspace"]
    search_fields = ["reason", "redacted_input"]
    readonly_fields = [f.name for f in AgentRun._meta.fields]


@admin.register(CalibrationMap)
class CalibrationMapAdmin(InternalAdmin):
    list_display = ["workspace", "fitted_at", "samples", "ece_display"]
    list_filter = ["workspace"]
    readonly_fields = ["workspace", "fitted_at", "samples", "ece_display", "reliability_curve", "bins_table", "points"]
    exclude = ["reliability", "ece"]

    @admin.display(description="expected calibration error")
    def ece_display(self, obj: CalibrationMap) -> str:
        return f"{obj.ece:.3f}"

    @admin.display(description="reliability curve")
    def reliability_curve(self, obj: CalibrationMap) -> SafeString:
        # The SVG is built from numbers only (no user text), so it is safe to inline.
        return mark_safe(reliability_svg(obj.reliability))  # noqa: S308

    @admin.display(description="bins")
    def bins_table(self, obj: CalibrationMap) -> SafeString:
        rows = [
            format_html(
                "<tr><td>{} to {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                b["lo"],
                b["hi"],
                b["mean_confidence"],
                b["accuracy"],
                b["n"],
            )
            for b in obj.reliability
        ]
        head = "<tr><th>bin</th><th>mean confidence</th><th>accuracy</th><th>n</th></tr>"
        return mark_safe(f"<table>{head}{''.join(rows)}</table>")  # noqa: S308 (rows escaped by format_html)

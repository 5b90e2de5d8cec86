"""Admin for bounded tools: the allow-list, HTTP actions, approval rules and the approval queue.

Scoped like the helpdesk admin (a staff user sees their workspaces' rows; superusers all).
Settings are edited by managers and admins and saved through `tool_setting_save` (audited).
In the approval queue every member sees the requests; only managers and admins decide, never
on their own request, and every decision goes through `action_approve` / `action_reject`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ai.confidence_words import confidence_reasons
from ai.models import ActionRequest, ActionStatus, ApprovalRule, HttpAction, ShopPolicy, ToolPermission
from ai.tools.approvals import AlreadyDecided, action_approve, action_reject, may_decide
from ai.tools.describe import action_words
from ai.tools.http_action import template_fields
from ai.tools.registry import BUILTIN_TOOLS, RESERVED_NAMES, schema_problem, workspace_specs
from ai.tools.review import action_review
from ai.tools.settings import tool_setting_delete, tool_setting_save
from audit.services import Actor
from helpdesk.access import MANAGER_ROLES
from helpdesk.admin import ManagedSettingsAdmin, ScopedAdmin, _superuser, member_roles

DEFAULT_ALLOW_LIST_NOTE = (
    "A new workspace allows only lookup_order and escalate_to_human; every tool that changes money, "
    "accounts or shipments starts disabled. Refunds over 100.00 need a manager's approval by default."
)


class ToolSettingAdmin(ManagedSettingsAdmin):
    deletable = True

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        tool_setting_save(obj=obj, actor=Actor.for_user(request.user))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        tool_setting_delete(obj=obj, actor=Actor.for_user(request.user))


class ToolPermissionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ToolPermission
        fields = ("workspace", "tool", "enabled", "max_amount")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        workspace, tool = data.get("workspace"), data.get("tool")
        if workspace is not None and tool and tool not in workspace_specs(workspace):
            raise ValidationError({"tool": f"No tool {tool!r}: use a built-in or one of the workspace's HTTP actions."})
        return data


@admin.register(ToolPermission)
class ToolPermissionAdmin(ToolSettingAdmin):
    form = ToolPermissionForm
    list_display = ["tool", "workspace", "enabled", "max_amount", "kind", "description"]
    list_filter = ["enabled", "workspace"]

    @admin.display(description="kind")
    def kind(self, obj: ToolPermission) -> str:
        spec = BUILTIN_TOOLS.get(obj.tool)
        return spec.kind if spec else "http action"

    @admin.display(description="what it does")
    def description(self, obj: ToolPermission) -> str:
        spec = BUILTIN_TOOLS.get(obj.tool)
        return spec.description if spec else ""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(
            request, {**(extra_context or {}), "title": "Tool allow-list", "subtitle": DEFAULT_ALLOW_LIST_NOTE}
        )


class HttpActionForm(forms.ModelForm):  # type: ignore[type-arg]
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="HMAC-SHA256 signing secret. Leave empty to keep the current one.",
    )

    class Meta:
        model = HttpAction
        fields = (
            "workspace",
            "name",
            "description",
            "kind",
            "method",
            "url_template",
            "args_schema",
            "amount_arg",
            "timeout_seconds",
            "secret",
        )

    def clean_secret(self) -> str:
        value = self.cleaned_data.get("secret") or ""
        return value or (self.instance.secret if self.instance.pk else "")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        name = data.get("name") or ""
        if name in BUILTIN_TOOLS or name == "reply":
            self.add_error("name", "This name belongs to a built-in tool.")
        if data.get("kind") not in ("read", "write"):
            self.add_error("kind", "Use read or write.")
        if (data.get("method") or "").upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            self.add_error("method", "Use GET, POST, PUT, PATCH or DELETE.")
        data["method"] = (data.get("method") or "").upper()
        if problem := schema_problem(data.get("args_schema")):
            self.add_error("args_schema", problem)
        template = data.get("url_template") or ""
        try:
            template_fields(template)
        except ValueError as exc:
            self.add_error("url_template", str(exc))
        if template and not template.startswith(("http://", "https://")):
            self.add_error("url_template", "The URL must start with http:// or https://.")
        timeout = data.get("timeout_seconds")
        if timeout is not None and not 0 < timeout <= 60:
            self.add_error("timeout_seconds", "Between 0 and 60 seconds.")
        return data


@admin.register(HttpAction)
class HttpActionAdmin(ToolSettingAdmin):
    form = HttpActionForm
    list_display = ["name", "workspace", "kind", "method", "url_template", "timeout_seconds", "signed"]
    list_filter = ["workspace"]

    @admin.display(boolean=True, description="signed")
    def signed(self, obj: HttpAction) -> bool:
        return bool(obj.secret)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        note = (
            "An HTTP action is a tool like the others: enable it in the allow-list. The action named "
            f"'{sorted(RESERVED_NAMES - {'reply'})[0]}' instead configures the HTTP shop connector (its URL is the "
            "merchant API's base URL)."
        )
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": note})


@admin.register(ApprovalRule)
class ApprovalRuleAdmin(ToolSettingAdmin):
    list_display = ["__str__", "workspace", "ticket_type", "tool", "amount_over", "channel", "enabled"]
    list_filter = ["enabled", "workspace"]
    fields = ["workspace", "ticket_type", "tool", "amount_over", "channel", "enabled"]


@admin.register(ShopPolicy)
class ShopPolicyAdmin(ToolSettingAdmin):
    list_display = [
        "workspace",
        "return_window_days",
        "refund_timing",
        "return_fee",
        "non_refundable_sku_prefixes",
        "appointment_horizon_days",
    ]
    fields = [
        "workspace",
        "return_window_days",
        "refund_timing",
        "return_fee",
        "return_fee_free_countries",
        "non_refundable_sku_prefixes",
        "appointment_horizon_days",
    ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        note = (
            "What the AI checks each request against, using the order's own data: returns within the window "
            "after delivery, final-sale items and the SKU prefixes listed never refunded, the return-label fee "
            "deducted from refunds outside the countries that return for free, address changes and "
            "cancellations only before shipment. A request the policy forbids goes to a person."
        )
        return super().changelist_view(request, {**(extra_context or {}), "subtitle": note})


# -------------------------------------------------------------------------- approval queue


class DecisionForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


@admin.register(ActionRequest)
class ActionRequestAdmin(ScopedAdmin):
    list_display = ["id", "status", "ticket_link", "what", "confidence", "requested_by", "created_at"]
    list_filter = ["status", "tool"]
    list_select_related = ["ticket", "run", "ticket__customer", "ticket__workspace"]
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "ai/admin/actionrequest_change_form.html"
    readonly_fields = [
        "workspace",
        "ticket",
        "run",
        "what",
        "amount",
        "status",
        "rule",
        "requested_by",
        "decided_by",
        "decided_at",
        "note",
        "result",
        "executed_at",
        "created_at",
    ]
    exclude = ["reply_draft", "requested_by_user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ActionRequest]:
        # Pending first, oldest first: the queue is worked from the top.
        queryset: QuerySet[ActionRequest] = super().get_queryset(request)
        return queryset.annotate(
            queue=Case(When(status=ActionStatus.PENDING, then=Value(0)), default=Value(1), output_field=IntegerField())
        ).order_by("queue", "created_at")

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return []

    @admin.display(description="ticket")
    def ticket_link(self, obj: ActionRequest) -> str:
        url = reverse("admin:helpdesk_ticket_change", args=[obj.ticket_id])
        return format_html('<a href="{}">#{} {}</a>', url, obj.ticket.number, obj.ticket.subject)

    @admin.display(description="action")
    def what(self, obj: ActionRequest) -> str:
        return action_words(obj.tool, obj.args, obj.ticket.workspace.currency)

    @admin.display(description="AI confidence")
    def confidence(self, obj: ActionRequest) -> str:
        if obj.run is None or obj.run.confidence is None:
            return "-"
        return f"{obj.run.confidence:.2f}"

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return _superuser(request) or any(role in MANAGER_ROLES for role in member_roles(request).values())

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        action = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if action is not None:
            why_not = may_decide(action=action, user=request.user)  # type: ignore[arg-type]
            context.update(
                {
                    "action": action,
                    "conversation": list(action.ticket.messages.select_related("author_user").order_by("created_at")),
                    "run": action.run,
                    "review": action_review(action),
                    "reasons": confidence_reasons(action.run.confidence_parts if action.run else {}),
                    "can_decide": action.status == ActionStatus.PENDING and not why_not,
                    "why_not": why_not,
                    "decide_url": reverse("admin:ai_actionrequest_decide", args=[action.pk]),
                    "decision_form": DecisionForm(),
                }
            )
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self) -> list[Any]:
        decide = path(
            "<int:action_id>/decide/", self.admin_site.admin_view(self.decide_view), name="ai_actionrequest_decide"
        )
        return [decide, *super().get_urls()]

    def _decide(
        self, request: HttpRequest, action: ActionRequest, decision: str, note: str, reply: str | None = None
    ) -> bool:
        try:
            if decision == "approve":
                done = action_approve(action=action, user=request.user, note=note, reply=reply)  # type: ignore[arg-type]
                level = messages.SUCCESS if done.status == ActionStatus.EXECUTED else messages.WARNING
                detail = "" if done.status == ActionStatus.EXECUTED else f": {done.result.get('reason', '')}"
                self.message_user(request, f"Request {action.pk} approved, {done.status}{detail}.", level)
            else:
                action_reject(action=action, user=request.user, note=note)  # type: ignore[arg-type]
                self.message_user(request, f"Request {action.pk} rejected; the ticket went to a human.")
        except (AlreadyDecided, PermissionDenied, ValidationError) as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Request {action.pk}: {text}", messages.ERROR)
            return False
        return True

    def decide_view(self, request: HttpRequest, action_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:ai_actionrequest_change", args=[action_id]))
        action = get_object_or_404(self.get_queryset(request), pk=action_id)
        decision = request.POST.get("decision", "")
        if decision not in ("approve", "reject"):
            self.message_user(request, "Choose approve or reject.", messages.ERROR)
        else:
            self._decide(request, action, decision, request.POST.get("note", ""), request.POST.get("reply"))
        return HttpResponseRedirect(reverse("admin:ai_actionrequest_changelist"))

    def _bulk(self, request: HttpRequest, queryset: QuerySet[ActionRequest], decision: str) -> HttpResponse | None:
        if "apply" in request.POST:
            form = DecisionForm(request.POST)
            if form.is_valid():
                for action in queryset:
                    self._decide(request, action, decision, form.cleaned_data["note"])
                return None
        return TemplateResponse(
            request,
            "ai/admin/action_decide.html",
            {
                **self.admin_site.each_context(request),
                "title": f"{decision.capitalize()} {queryset.count()} request(s)",
                "decision": decision,
                "action_name": f"{decision}_selected",
                "requests": queryset,
                "form": DecisionForm(),
                "opts": self.model._meta,
                "note_required": decision == "reject",
            },
        )

    @admin.action(description="Approve selected requests (execute and send the reply)", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[ActionRequest]) -> HttpResponse | None:
        return self._bulk(request, queryset, "approve")

    @admin.action(description="Reject selected requests (with a note; hand to a human)", permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[ActionRequest]) -> HttpResponse | None:
        return self._bulk(request, queryset, "reject")

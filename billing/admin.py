"""The finance back office: invoices (list, CSV, PDF, period CSV, issue on demand), outcomes, plans.

Only finance and admin members of a workspace see its invoices; for anyone else the pages
answer 404, as if there were no invoices at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from audit.services import Actor
from billing.access import can_see_invoices, finance_workspace_ids, invoice_for_user
from billing.export import invoice_csv, invoice_filename, invoice_pdf, period_csv
from billing.models import Invoice, Outcome, Plan
from billing.services import EMPTY_PERIOD, InvoicePreview, invoice_generate, invoice_preview
from helpdesk.models import Membership, Role, Workspace


def _scoped(queryset: QuerySet[Any], request: HttpRequest) -> QuerySet[Any]:
    ids = finance_workspace_ids(request.user)
    return queryset if ids is None else queryset.filter(workspace_id__in=ids)


class PeriodForm(forms.Form):
    period = forms.DateField(input_formats=["%Y-%m"], widget=forms.TextInput(attrs={"placeholder": "YYYY-MM"}))


class GenerateForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.none())
    period = forms.DateField(input_formats=["%Y-%m"], widget=forms.TextInput(attrs={"placeholder": "YYYY-MM"}))

    def __init__(self, *args: Any, workspaces: QuerySet[Workspace], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = workspaces  # type: ignore[attr-defined]


class FinanceOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only, scoped to the user's finance workspaces, 404 for everyone else."""

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return _scoped(super().get_queryset(request).select_related("workspace"), request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return can_see_invoices(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return can_see_invoices(request.user)
        ids = finance_workspace_ids(request.user)
        return ids is None or obj.workspace_id in ids

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not can_see_invoices(request.user):
            raise Http404
        return super().changelist_view(request, extra_context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not can_see_invoices(request.user) or not self.get_queryset(request).filter(pk=object_id).exists():
            raise Http404
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Invoice)
class InvoiceAdmin(FinanceOnlyAdmin):
    change_list_template = "billing/admin/invoice_change_list.html"
    list_display = (
        "display_number",
        "workspace",
        "period_label",
        "line_count",
        "subtotal",
        "credits",
        "tax",
        "total",
        "currency",
        "downloads",
    )
    list_filter = ("status",)
    search_fields = ("workspace__name", "workspace__slug")
    date_hierarchy = "period"
    readonly_fields = (
        "workspace",
        "number",
        "period",
        "status",
        "currency",
        "line_count",
        "subtotal",
        "credits",
        "tax_rate",
        "tax",
        "total",
        "issued_at",
        "downloads",
    )

    @admin.display(description="Number", ordering="number")
    def display_number(self, obj: Invoice) -> str:
        return obj.display_number

    @admin.display(description="Period", ordering="period")
    def period_label(self, obj: Invoice) -> str:
        return f"{obj.period:%Y-%m}"

    @admin.display(description="Export")
    def downloads(self, obj: Invoice) -> str:
        return format_html(
            '<a href="{}" class="invoice-csv">CSV</a> · <a href="{}" class="invoice-pdf">PDF</a>',
            reverse("admin:billing_invoice_csv", args=[obj.pk]),
            reverse("admin:billing_invoice_pdf", args=[obj.pk]),
        )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:invoice_id>/csv/", wrap(self.csv_view), name="billing_invoice_csv"),
            path("<int:invoice_id>/pdf/", wrap(self.pdf_view), name="billing_invoice_pdf"),
            path("period-csv/", wrap(self.period_csv_view), name="billing_invoice_period_csv"),
            path("generate/", wrap(self.generate_view), name="billing_invoice_generate"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {
            "period_form": PeriodForm(),
            "generate_form": GenerateForm(workspaces=self._generate_workspaces(request)),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def csv_view(self, request: HttpRequest, invoice_id: int) -> StreamingHttpResponse:
        invoice = invoice_for_user(user=request.user, invoice_id=invoice_id)
        response = StreamingHttpResponse(invoice_csv(invoice), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice, "csv")}"'
        return response

    def pdf_view(self, request: HttpRequest, invoice_id: int) -> HttpResponse:
        invoice = invoice_for_user(user=request.user, invoice_id=invoice_id)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_filename(invoice, "pdf")}"'
        return response

    def period_csv_view(self, request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        if not can_see_invoices(request.user):
            raise Http404
        form = PeriodForm(request.GET)
        if not form.is_valid():
            return HttpResponse(f"Bad period: {form.errors.as_text()}", status=400, content_type="text/plain")
        period: date = form.cleaned_data["period"]
        response = StreamingHttpResponse(
            period_csv(self.get_queryset(request), period), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="invoices-{period:%Y-%m}.csv"'
        return response

    def _generate_workspaces(self, request: HttpRequest) -> QuerySet[Workspace]:
        ids = finance_workspace_ids(request.user)
        return Workspace.objects.all() if ids is None else Workspace.objects.filter(pk__in=ids)

    def generate_view(self, request: HttpRequest) -> HttpResponse:
        if not can_see_invoices(request.user):
            raise Http404
        changelist = reverse("admin:billing_invoice_changelist")
        if request.method != "POST":
            return HttpResponseRedirect(changelist)
        form = GenerateForm(request.POST, workspaces=self._generate_workspaces(request))
        if not form.is_valid():
            self.message_user(request, f"Not issued: {form.errors.as_text()}", level=messages.ERROR)
            return HttpResponseRedirect(changelist)
        period: date = form.cleaned_data["period"]
        workspace = form.cleaned_data["workspace"]
        try:
            if request.POST.get("confirm") != "yes":
                # An invoice spends a number of a gapless sequence: finance sees what it bills first.
                return self._confirm(
                    request, form, invoice_preview(workspace=workspace, year=period.year, month=period.month)
                )
            invoice = invoice_generate(
                workspace=workspace, year=period.year, month=period.month, actor=Actor.for_user(request.user)
            )
        except ValidationError as exc:
            self.message_user(request, "Not issued: " + " ".join(exc.messages), level=messages.ERROR)
            return HttpResponseRedirect(changelist)
        self.message_user(
            request, f"Invoice {invoice.display_number} for {period:%Y-%m}: {invoice.total} {invoice.currency}."
        )
        return HttpResponseRedirect(changelist)

    def _confirm(self, request: HttpRequest, form: GenerateForm, preview: InvoicePreview) -> HttpResponse:
        if preview.empty:
            self.message_user(request, "Not issued: " + EMPTY_PERIOD.format(period=preview.period), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:billing_invoice_changelist"))
        existing = Invoice.objects.filter(workspace=form.cleaned_data["workspace"], period=preview.period).first()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Issue the invoice for {preview.period:%Y-%m}?",
            "opts": self.model._meta,
            "workspace": form.cleaned_data["workspace"],
            "preview": preview,
            "existing": existing,
            "period_text": f"{preview.period:%Y-%m}",
        }
        return TemplateResponse(request, "billing/admin/invoice_confirm.html", context)


@admin.register(Outcome)
class OutcomeAdmin(FinanceOnlyAdmin):
    list_display = (
        "ticket_number",
        "workspace",
        "status",
        "price",
        "currency",
        "ai_replied_at",
        "resolved_at",
        "trail",
    )
    list_filter = ("status",)
    list_select_related = ("workspace", "ticket")
    search_fields = ("ticket__number", "ticket__subject")
    readonly_fields = (
        "workspace",
        "ticket",
        "status",
        "evidence",
        "ai_replied_at",
        "window_ends_at",
        "resolved_at",
        "finalized_at",
        "billed_at",
        "voided_at",
        "credited_at",
        "price",
        "currency",
        "trail",
    )

    @admin.display(description="Ticket", ordering="ticket__number")
    def ticket_number(self, obj: Outcome) -> str:
        return f"#{obj.ticket.number}"

    @admin.display(description="Audit trail")
    def trail(self, obj: Outcome) -> str:
        return format_html('<a href="{}">timeline</a>', obj.evidence.get("audit_timeline", ""))


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Workspace admins edit their own plan (window, tax rate); superusers every plan."""

    list_display = ("workspace", "model", "price_per_outcome", "currency", "outcome_window_hours", "trial_ends_at")
    readonly_fields = ("workspace",)

    def _admin_ids(self, request: HttpRequest) -> list[int] | None:
        if request.user.is_superuser:
            return None
        if not request.user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=request.user, role=Role.ADMIN).values_list("workspace_id", flat=True)
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Plan]:
        ids = self._admin_ids(request)
        queryset = super().get_queryset(request).select_related("workspace")
        return queryset if ids is None else queryset.filter(workspace_id__in=ids)

    def has_module_permission(self, request: HttpRequest) -> bool:
        ids = self._admin_ids(request)
        return ids is None or bool(ids) or can_see_invoices(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        ids = self._admin_ids(request)
        return ids is None or (bool(ids) if obj is None else obj.workspace_id in ids)

    def has_change_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Plan | None = None) -> bool:
        return False

"""The manager reports page, its CSV downloads and JSON, and the kill-switch form.

Managers and admins of the active workspace only; anyone else gets a 404 (like every other
object of a workspace they cannot see).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from ai.controls import active_pauses, agent_pause, agent_resume
from ai.reports import charts
from ai.reports.export import all_csv, table_csv, tables
from ai.reports.queries import DEFAULT_MINUTES_PER_TICKET, ReportFilter, report
from audit.services import Actor
from billing.spend_cap import spend_cap_status
from helpdesk.access import manager_membership, request_memberships
from helpdesk.models import Channel, Membership, TicketType

DEFAULT_DAYS = 30
MAX_DAYS = 366


class ReportForm(forms.Form):
    start = forms.DateField(required=False)
    end = forms.DateField(required=False)
    channel = forms.ChoiceField(required=False, choices=[("", "Any channel"), *Channel.choices])
    ticket_type = forms.ChoiceField(required=False, label="Type", choices=[("", "Any type"), *TicketType.choices])
    minutes = forms.IntegerField(required=False, min_value=1, max_value=600, label="Minutes saved per resolved ticket")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("The start is after the end.")
        if start and end and (end - start).days >= MAX_DAYS:
            raise ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data


def report_filter(form: ReportForm, *, workspace_id: int, today: date) -> ReportFilter:
    data: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
    end_day: date = data.get("end") or today
    start_day: date = data.get("start") or end_day - timedelta(days=DEFAULT_DAYS - 1)
    return ReportFilter(
        workspace_id=workspace_id,
        start=datetime.combine(start_day, time.min, tzinfo=UTC),
        end=datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=UTC),
        channel=data.get("channel") or "",
        ticket_type=data.get("ticket_type") or "",
        minutes_per_ticket=data.get("minutes") or DEFAULT_MINUTES_PER_TICKET,
    )


def _compute(request: HttpRequest) -> tuple[Membership, ReportForm, ReportFilter, dict[str, Any]]:
    membership = manager_membership(request)
    form = ReportForm(request.GET or None)
    now = timezone.now()
    f = report_filter(form, workspace_id=membership.workspace_id, today=now.astimezone(UTC).date())
    return membership, form, f, report(f, now=now)


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    ai, res, drafts, appr, cost = data["ai"], data["resolution"], data["drafts"], data["approvals"], data["cost"]
    return {
        "volume": charts.column_chart(
            "Tickets per day", [(d["day"][5:], d["tickets"]) for d in data["volume"]["by_day"]]
        ),
        "ai": charts.bar_chart(
            "AI involvement and resolution (% of tickets)",
            [
                ("Touched by the AI", round((ai["involvement_rate"] or 0) * 100, 1)),
                ("Resolved by the AI", round((res["resolution_rate"] or 0) * 100, 1)),
                ("Durably resolved (7 days)", round((res["durable_rate"] or 0) * 100, 1)),
            ],
            suffix=" %",
        ),
        "decisions": charts.bar_chart(
            "AI decisions (% of runs)",
            [(d["label"], round((d["share"] or 0) * 100, 1)) for d in ai["decisions"]],
            suffix=" %",
        ),
        "handoffs": charts.bar_chart(
            "Handoff reasons (tickets)", [(h["label"], h["tickets"]) for h in data["handoffs"]]
        ),
        "drafts": charts.bar_chart(
            "What humans did with drafts", [(v["label"], v["drafts"]) for v in drafts["verdicts"]]
        ),
        "discards": charts.bar_chart(
            "Discard reasons", [(r["reason"], r["drafts"]) for r in drafts["discard_reasons"]], color="#d97706"
        ),
        "calibration": charts.calibration_chart("Confidence calibration", drafts["calibration"]["bins"]),
        "approvals": charts.bar_chart(
            "Approval requests",
            [("Approved", appr["approved"]), ("Rejected", appr["rejected"]), ("Pending now", len(appr["pending"]))],
        ),
        "cost": charts.bar_chart(
            f"Cost of the period ({cost['currency']})",
            [
                ("Per seat", float(cost["per_seat"])),
                ("Per attempt", float(cost["per_attempt"])),
                ("Per outcome (billed)", float(cost["per_outcome"])),
            ],
            color="#059669",
        ),
        "knowledge_gaps": charts.bar_chart(
            "Unanswered question clusters",
            [(c["title"], c["questions"]) for c in data["knowledge_gaps"]["clusters"][:10]],
        ),
    }


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    membership, form, f, data = _compute(request)
    context = {
        "active_membership": membership,
        "memberships": request_memberships(request),
        "form": form,
        "f": f,
        "end_day": f.end - timedelta(days=1),
        "query": f.query_string(),
        "report": data,
        "charts": _charts(data),
        "figures": list(tables(data)),
        "cap": spend_cap_status(workspace=membership.workspace_id),
        "pauses": active_pauses(membership.workspace_id),
    }
    return render(request, "ai/reports.html", context)


@login_required
@require_GET
def reports_csv(request: HttpRequest, figure: str = "") -> HttpResponse:
    _membership, _form, f, data = _compute(request)
    stamp = f"{f.start:%Y%m%d}-{(f.end - timedelta(days=1)):%Y%m%d}"
    if figure:
        table = tables(data).get(figure)
        if table is None:
            raise Http404("No such figure.")
        body, name = table_csv(table), f"oasis-report-{figure}-{stamp}.csv"
    else:
        body, name = all_csv(data), f"oasis-report-{stamp}.csv"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def reports_api(request: HttpRequest) -> JsonResponse:
    _membership, form, _f, data = _compute(request)
    if form.is_bound and not form.is_valid():
        return JsonResponse({"errors": form.errors.get_json_data()}, status=400)
    return JsonResponse(data, encoder=DjangoJSONEncoder)


@login_required
@require_POST
def kill_switch(request: HttpRequest) -> HttpResponse:
    """One click: pause (or resume) the Agent for the workspace or one channel."""
    membership = manager_membership(request)
    action = request.POST.get("action")
    channel = request.POST.get("channel", "")
    reason = request.POST.get("reason", "").strip()
    actor = Actor.for_user(request.user)
    try:
        if action == "pause":
            agent_pause(
                workspace=membership.workspace, channel=channel, actor=actor, reason=reason or "paused by a manager"
            )
            messages.warning(request, "The Agent is paused: it sends nothing on its own and runs no write action.")
        elif action == "resume":
            if agent_resume(workspace=membership.workspace, channel=channel, actor=actor, reason=reason) is None:
                messages.info(request, "The Agent was not paused there.")
            else:
                messages.success(request, "The Agent is running again.")
        else:
            messages.error(request, "Choose pause or resume.")
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/inbox/"
    return redirect(target)

"""The trial pages: start a shadow trial (upload or pick server files), watch its progress,
read the sampled drafts beside their tickets and mark them.

Managers and admins of the active workspace only; anyone else gets a 404.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ai.access import trial_for_user
from ai.models import RunStatus, TrialItem, TrialMark, TrialMarkKind, TrialRun, TrialStatus
from ai.trial.inputs import InputError
from ai.trial.report import ordered, review_figures, ticket_entry
from ai.trial.runner import REVIEW_SIZE, TrialParams, review_positions, trial_create, trial_enqueue
from ai.views_trial_setup import new_upload_dir, save_uploads, setup_context
from audit.timeline import safe_url
from helpdesk.access import manager_membership
from helpdesk.models import Message, MessageKind, SourceKind

TEMPLATE = "ai/trial_report.html"


def server_folder() -> Path:
    """Where an operator drops trial inputs for the page to pick (var/trial-inputs)."""
    return Path(getattr(settings, "OASIS_TRIAL_INPUTS", Path(settings.BASE_DIR) / "var" / "trial-inputs"))


def _choices() -> list[tuple[str, str]]:
    root = server_folder()
    if not root.is_dir():
        return [("", "—")]
    entries = sorted(p for p in root.rglob("*") if p.is_dir() or p.suffix in (".jsonl", ".json", ".md", ".html"))
    return [("", "—")] + [(str(p), str(p.relative_to(root)) + ("/" if p.is_dir() else "")) for p in entries[:500]]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the Django docs' recipe): a help center is many files."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return super().clean(data, initial)


class TrialForm(forms.Form):
    helpcenter_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Your help center's address",
        help_text="A Zendesk Help Center (read through its API) or any help site (its sitemap, else its links).",
    )
    helpcenter_kind = forms.ChoiceField(
        choices=SourceKind.choices, initial=SourceKind.AUTO, required=False, label="Kind of site"
    )
    helpcenter_path = forms.ChoiceField(required=False, label="Help center (server folder or file)")
    tickets_path = forms.ChoiceField(required=False, label="Tickets JSONL (server file)")
    orders_path = forms.ChoiceField(required=False, label="Orders JSON (server file)")
    helpcenter_files = MultipleFileField(
        required=False, label="…or upload help center files (Markdown, HTML or a Zendesk export)"
    )
    tickets_file = forms.FileField(required=False, label="…or upload tickets JSONL")
    orders_file = forms.FileField(required=False, label="…or upload orders JSON")
    now = forms.CharField(required=False, label="Clock for policy windows (ISO 8601, optional)")
    sample = forms.IntegerField(required=False, min_value=1, max_value=5000, label="Run a sample of N tickets")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = _choices()
        for name in ("helpcenter_path", "tickets_path", "orders_path"):
            self.fields[name].choices = choices  # type: ignore[attr-defined]


@login_required
@require_http_methods(["GET", "POST"])
def trial_home(request: HttpRequest) -> HttpResponse:
    membership = manager_membership(request)
    form = TrialForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload_dir = new_upload_dir()
        try:
            trial = _start(request, form, upload_dir)
        except BaseException:
            shutil.rmtree(upload_dir, ignore_errors=True)
            raise
        if trial is not None:
            return redirect("trial:report", trial_id=trial.pk)
        # Nothing will read what was uploaded for a trial that did not start.
        shutil.rmtree(upload_dir, ignore_errors=True)
    trials = TrialRun.objects.filter(workspace_id=membership.workspace_id).order_by("-created_at")[:20]
    context = {"form": form, "trials": trials, "server_folder": server_folder(), "workspace": membership.workspace}
    return render(request, "ai/trial_home.html", context)


def _start(request: HttpRequest, form: TrialForm, upload_dir: Path) -> TrialRun | None:
    """Save the uploads and start the trial, or add the reason it cannot start to the form."""
    membership = manager_membership(request)
    data = form.cleaned_data
    helpcenter = data["helpcenter_path"]
    if request.FILES.getlist("helpcenter_files"):
        helpcenter = str(save_uploads(request.FILES.getlist("helpcenter_files"), upload_dir / "helpcenter"))
    tickets = data["tickets_path"]
    if data["tickets_file"]:
        tickets = str(save_uploads([data["tickets_file"]], upload_dir) / Path(data["tickets_file"].name).name)
    orders = data["orders_path"]
    if data["orders_file"]:
        orders = str(save_uploads([data["orders_file"]], upload_dir) / Path(data["orders_file"].name).name)
    url = data["helpcenter_url"]
    if not (helpcenter or url) or (not tickets and (orders or data["now"] or data["sample"])):
        form.add_error(None, "Choose or upload a help center and a tickets file.")
        return None
    params = TrialParams(
        helpcenter=helpcenter,
        helpcenter_url=url,
        helpcenter_kind=data["helpcenter_kind"] or SourceKind.AUTO,
        tickets=tickets,
        orders=orders,
        now=data["now"],
        sample=data["sample"],
        uploads=str(upload_dir),
    )
    # With the tickets at hand the trial starts now; with a help center only, the guided page
    # takes the next steps (tickets, orders, run) on the trial's own page.
    status = TrialStatus.QUEUED if tickets else TrialStatus.SETUP
    try:
        with transaction.atomic():
            trial = trial_create(workspace=membership.workspace, params=params, user_id=request.user.pk, status=status)
            if tickets:
                trial_enqueue(trial=trial)
    except (InputError, ValueError) as exc:
        form.add_error(None, str(exc))
        return None
    return trial


def review_sample(report: dict[str, Any], size: int = REVIEW_SIZE) -> list[dict[str, Any]]:
    """The drafts put in front of a reviewer: a fixed random sample (the one the trial ran
    first), in file order."""
    tickets = report.get("tickets", [])
    return [tickets[i] for i in sorted(review_positions(len(tickets), size))]


FINISHED_RUNS = (RunStatus.DONE, RunStatus.FAILED, RunStatus.SUPERSEDED)


def review_state(trial: TrialRun) -> tuple[int, int]:
    """(review drafts finished, review drafts in all): the review opens once they are all done,
    before the rest of a large trial has run."""
    size = min(REVIEW_SIZE, trial.total)
    done = TrialItem.objects.filter(trial=trial, in_review=True, run__status__in=FINISHED_RUNS).count()
    return done, size


def _review_entries(request: HttpRequest, trial: TrialRun) -> list[dict[str, Any]]:
    report = trial.report or {}
    if report.get("tickets"):
        size = request.GET.get("n", "")  # a bad or empty ?n= falls back to the default, never a 500
        return review_sample(report, (int(size) if size.isdecimal() else 0) or REVIEW_SIZE)
    # Still running: the reviewer's drafts ran first and are read from their runs.
    items = TrialItem.objects.filter(trial=trial, in_review=True, run__status__in=FINISHED_RUNS).select_related("run")
    return [ticket_entry(i.external_id, i.run, i.agent_reply) for i in items.order_by("position")]


def calculator_link(summary: dict[str, Any]) -> str:
    """The cost calculator, pre-filled with the trial's volume and would-autosend rate."""
    inputs = (summary.get("cost") or {}).get("inputs")
    return f"{reverse('billing:calculator')}?{urlencode(inputs)}" if isinstance(inputs, dict) else ""


def _report_context(request: HttpRequest, trial: TrialRun) -> dict[str, Any]:
    report = trial.report or {}
    sample = _review_entries(request, trial)
    ids = [e["external_id"] for e in sample]
    items = {
        i.external_id: i for i in TrialItem.objects.filter(trial=trial, external_id__in=ids).select_related("ticket")
    }
    # Each sampled ticket's first customer message, in one query (DISTINCT ON the ticket).
    first_messages: dict[int, str] = dict(
        Message.objects.filter(ticket_id__in=[i.ticket_id for i in items.values()], kind=MessageKind.CUSTOMER)
        .order_by("ticket_id", "created_at", "pk")
        .distinct("ticket_id")
        .values_list("ticket_id", "body")
    )
    marks = dict(TrialMark.objects.filter(trial=trial).values_list("external_id", "mark"))
    rows = []
    for entry in sample:
        found = items.get(entry["external_id"])
        rows.append(
            {
                "entry": entry,
                "ticket": found.ticket if found else None,
                "body": first_messages.get(found.ticket_id, "") if found else "",
                "agent_reply": entry.get("agent_reply") or (found.agent_reply if found else ""),
                "mark": marks.get(entry["external_id"], ""),
                # Only http(s) and site links become links: a javascript: URL in a report stays text.
                "sources": [
                    {"title": c.get("title", ""), "url": safe_url(c.get("url"))}
                    for c in entry.get("citations") or []
                    if isinstance(c, dict)
                ],
            }
        )
    summary = report.get("summary", {})
    done, size = review_state(trial)
    return {
        "trial": trial,
        "summary": summary,
        "rows": rows,
        "figures": review_figures(sample, marks),
        "mark_kinds": TrialMarkKind.choices,
        "calculator_url": calculator_link(summary),
        "review_done": done,
        "review_size": size,
        "review_ready": bool(size) and done >= size,
    }


@login_required
@require_GET
def trial_report(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    if trial.status == TrialStatus.SETUP:
        return render(request, TEMPLATE, setup_context(request, trial))
    return render(request, TEMPLATE, _report_context(request, trial))


@login_required
@require_GET
def trial_progress(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    done, size = review_state(trial)
    ready = bool(size) and done >= size
    context = {"trial": trial, "review_done": done, "review_size": size, "review_ready": ready}
    response = render(request, f"{TEMPLATE}#progress", context)
    finished = trial.status in (TrialStatus.DONE, TrialStatus.FAILED)
    opened = ready and request.GET.get("ready") == "0"
    if (finished or opened) and getattr(request, "htmx", False):
        # The finished report (or the review, once its drafts are done) replaces the progress bar.
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def trial_mark(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    external_id = request.POST.get("external_id", "")
    mark = request.POST.get("mark", "")
    if mark not in TrialMarkKind.values or not TrialItem.objects.filter(trial=trial, external_id=external_id).exists():
        return HttpResponse("Unknown draft or mark.", status=400)
    TrialMark.objects.update_or_create(
        trial=trial, external_id=external_id, defaults={"mark": mark, "marked_by": request.user}
    )
    if getattr(request, "htmx", False):
        context = _report_context(request, trial)
        row = next((r for r in context["rows"] if r["entry"]["external_id"] == external_id), None)
        return render(request, f"{TEMPLATE}#mark_response", {**context, "row": row})
    return redirect("trial:report", trial_id=trial.pk)


@login_required
@require_GET
def trial_download(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    response = HttpResponse(
        json.dumps(ordered(trial.report or {}), indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="trial-{trial.pk}-report.json"'
    return response


@login_required
@require_POST
def trial_remove(request: HttpRequest, trial_id: int) -> HttpResponse:
    """Delete a trial and its sandbox (its imported help center, customers, orders, tickets)."""
    from ai.trial.sandbox import trial_delete
    from audit.services import Actor

    trial = trial_for_user(request, trial_id)
    if trial.status in (TrialStatus.QUEUED, TrialStatus.RUNNING):
        return HttpResponse("A trial that is still running cannot be deleted.", status=409)
    uploads = (trial.params or {}).get("uploads")
    trial_delete(trial=trial, actor=Actor.for_user(request.user))
    if uploads:
        shutil.rmtree(uploads, ignore_errors=True)  # what a trial still being set up had uploaded
    return redirect("trial:home")

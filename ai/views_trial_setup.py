"""The guided trial's steps: help center (a URL or files) -> tickets (a file or a mailbox, a CSV's
columns mapped on a preview) -> orders (optional, their status words explained) -> run.

A trial being set up is a TrialRun in status "setup"; each step checks its input at once (the
importers' format check) and keeps it in the trial's params and upload folder, so a mistake is
shown on the step that made it, before anything runs. Managers and admins of the workspace only.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ai.access import trial_for_user
from ai.models import TrialRun, TrialStatus
from ai.trial.inputs import InputError, read_orders
from ai.trial.runner import trial_enqueue, trial_validate
from audit.services import Actor
from helpdesk.models import OrderStatus
from helpdesk.order_status import order_status_word_save, status_map_for
from helpdesk.ticket_import import FORMATS, TicketFormatError, read_tickets_file
from helpdesk.ticket_import.csv_table import FIELDS, csv_preview
from helpdesk.ticket_import.detect import read_text

TEMPLATE = "ai/trial_report.html"
PERSON = "person"


def uploads_root() -> Path:
    return Path(settings.BASE_DIR) / "var" / "trial" / "uploads"


def new_upload_dir() -> Path:
    return uploads_root() / uuid.uuid4().hex


def save_uploads(files: list[UploadedFile], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for upload in files:
        name = Path(upload.name or "upload").name  # never a path from the browser
        with (folder / name).open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
    return folder


class TicketsStepForm(forms.Form):
    tickets_file = forms.FileField(
        label="Your tickets",
        help_text="JSON Lines, a Zendesk, Freshdesk or Help Scout export (.json), a CSV, an mbox file "
        "or a Maildir .zip",
    )
    tickets_format = forms.ChoiceField(
        label="Format",
        choices=[("auto", "Find out from the file"), *[(f, f) for f in FORMATS]],
        initial="auto",
        required=False,
    )
    support_addresses = forms.CharField(
        required=False,
        label="Your support addresses (a mailbox only)",
        help_text="Messages from these addresses are your agents' replies; comma-separated.",
    )


class OrdersStepForm(forms.Form):
    orders_file = forms.FileField(label="Your orders (JSON)")


class StartForm(forms.Form):
    sample = forms.IntegerField(
        required=False, min_value=1, max_value=5000, initial=200, label="Run the Agent on a sample of N tickets"
    )
    now = forms.CharField(required=False, label="Clock for policy windows (ISO 8601, optional)")


def column_form(headers: list[str], data: Any = None, initial: dict[str, str] | None = None) -> forms.Form:
    form = forms.Form(data, initial=initial)
    choices = [("", "—"), *[(h, h) for h in headers]]
    for name, label in FIELDS:
        form.fields[name] = forms.ChoiceField(choices=choices, required=False, label=label)
    return form


def _params(trial: TrialRun, **changes: Any) -> None:
    trial.params = {**trial.params, **changes}
    TrialRun.objects.filter(pk=trial.pk).update(params=trial.params)


def _upload_dir(trial: TrialRun) -> Path:
    if not trial.params.get("uploads"):
        _params(trial, uploads=str(new_upload_dir()))
    return Path(trial.params["uploads"])


def setup_context(request: HttpRequest, trial: TrialRun, **extra: Any) -> dict[str, Any]:
    params = trial.params
    context: dict[str, Any] = {
        "trial": trial,
        "tickets_form": TicketsStepForm(initial={"support_addresses": trial.workspace.reply_address}),
        "orders_form": OrdersStepForm(),
        "start_form": StartForm(),
        "preview": None,
        "unmapped": [],
        "status_choices": [(PERSON, "A person decides"), *OrderStatus.choices],
    }
    if params.get("tickets_format") == "csv" and not params.get("csv_mapping") and params.get("tickets"):
        preview = csv_preview(read_text(Path(params["tickets"])))
        context["preview"] = preview
        context["column_form"] = column_form(preview.headers, initial=preview.mapping)
    if params.get("orders"):
        mapping = status_map_for(trial.workspace)
        context["unmapped"] = [w for w in params.get("order_statuses") or [] if not mapping.knows(w)]
    context.update(extra)
    return context


def _render(request: HttpRequest, trial: TrialRun, *, status: int = 200, **extra: Any) -> HttpResponse:
    return render(request, TEMPLATE, setup_context(request, trial, **extra), status=status)


def _check_tickets(trial: TrialRun, path: Path, fmt: str, addresses: list[str], mapping: Any = None) -> str:
    """Read the tickets now (the format check up front); "" or the reason they cannot be used."""
    try:
        parsed = read_tickets_file(path, fmt=fmt, csv_mapping=mapping, support_addresses=addresses)
    except TicketFormatError as exc:
        return str(exc)
    if not parsed.tickets:
        return "no usable ticket: " + ("; ".join(parsed.errors[:5]) or "the file is empty")
    _params(
        trial,
        tickets=str(path),
        tickets_format=parsed.format,
        support_addresses=addresses,
        csv_mapping=mapping,
        tickets_found={"tickets": len(parsed.tickets), "errors": parsed.errors[:20], "error_count": len(parsed.errors)},
    )
    return ""


@login_required
@require_POST
def trial_setup_tickets(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    form = TicketsStepForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render(request, trial, tickets_form=form, status=400)
    error = apply_tickets(trial, form.cleaned_data)
    if error:
        form.add_error("tickets_file", error)
        return _render(request, trial, tickets_form=form, status=400)
    return redirect("trial:report", trial_id=trial.pk)


def apply_tickets(trial: TrialRun, data: dict[str, Any]) -> str:
    """Keep the uploaded tickets if they can be read; "" or the reason (the file is then removed)."""
    upload: UploadedFile = data["tickets_file"]
    folder = _upload_dir(trial) / "tickets"
    shutil.rmtree(folder, ignore_errors=True)
    path = save_uploads([upload], folder) / Path(upload.name or "tickets").name
    fmt = data.get("tickets_format") or "auto"
    addresses = [a.strip() for a in str(data.get("support_addresses") or "").split(",") if a.strip()]
    if fmt == "csv" or (fmt == "auto" and path.suffix.lower() in (".csv", ".tsv")):
        try:
            csv_preview(read_text(path))
        except TicketFormatError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return str(exc)
        # The columns are mapped on the next step, from the preview.
        _params(trial, tickets=str(path), tickets_format="csv", csv_mapping=None, tickets_found=None)
        return ""
    error = _check_tickets(trial, path, fmt, addresses)
    if error:
        shutil.rmtree(folder, ignore_errors=True)
    return error


@login_required
@require_POST
def trial_setup_columns(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    if trial.params.get("tickets_format") != "csv" or not trial.params.get("tickets"):
        return HttpResponse("Upload a CSV of tickets first.", status=400)
    path = Path(trial.params["tickets"])
    preview = csv_preview(read_text(path))
    form = column_form(preview.headers, request.POST)
    if form.is_valid():
        mapping = {k: v for k, v in form.cleaned_data.items() if v}
        error = _check_tickets(trial, path, "csv", [], mapping)
        if not error:
            return redirect("trial:report", trial_id=trial.pk)
        form.add_error(None, error)
    return _render(request, trial, preview=preview, column_form=form, status=400)


@login_required
@require_POST
def trial_setup_orders(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    form = OrdersStepForm(request.POST, request.FILES)
    if form.is_valid():
        error = apply_orders(trial, form.cleaned_data["orders_file"])
        if not error:
            return redirect("trial:report", trial_id=trial.pk)
        form.add_error("orders_file", error)
    return _render(request, trial, orders_form=form, status=400)


def apply_orders(trial: TrialRun, upload: UploadedFile) -> str:
    folder = _upload_dir(trial) / "orders"
    shutil.rmtree(folder, ignore_errors=True)
    path = save_uploads([upload], folder) / Path(upload.name or "orders.json").name
    try:
        data = read_orders(path, default_currency=trial.workspace.currency)
    except InputError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return str(exc).replace(str(path), path.name)
    words = sorted({str(o.get("status") or "") for o in data["orders"]} - {""})
    _params(trial, orders=str(path), order_statuses=words, orders_found=len(data["orders"]))
    return ""


@login_required
@require_POST
def trial_setup_statuses(request: HttpRequest, trial_id: int) -> HttpResponse:
    """Say what the shop's own order status words mean (saved for the workspace, audited)."""
    trial = trial_for_user(request, trial_id)
    allowed = set(OrderStatus.values)
    actor = Actor.for_user(request.user)
    with transaction.atomic():
        for word in trial.params.get("order_statuses") or []:
            chosen = request.POST.get(f"status:{word}", PERSON)
            if chosen in allowed:
                order_status_word_save(workspace=trial.workspace, word=word, status=chosen, actor=actor)
    return redirect("trial:report", trial_id=trial.pk)


@login_required
@require_POST
def trial_setup_start(request: HttpRequest, trial_id: int) -> HttpResponse:
    trial = trial_for_user(request, trial_id)
    form = StartForm(request.POST)
    if trial.status != TrialStatus.SETUP:
        return HttpResponse("This trial has already started.", status=409)
    if not tickets_ready(trial.params):
        form.add_error(None, "Add your tickets first.")
    elif form.is_valid():
        try:
            start(trial, now=form.cleaned_data["now"], sample=form.cleaned_data["sample"])
        except InputError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("trial:report", trial_id=trial.pk)
    return _render(request, trial, start_form=form, status=400)


def tickets_ready(params: dict[str, Any]) -> bool:
    return bool(params.get("tickets")) and (params.get("tickets_format") != "csv" or bool(params.get("csv_mapping")))


def start(trial: TrialRun, *, now: str, sample: int | None) -> None:
    """From setup to the queue: the clock and sample checked, the task enqueued on commit."""
    _params(trial, now=now or "", sample=sample)
    trial_validate(trial.params)
    with transaction.atomic():
        if TrialRun.objects.filter(pk=trial.pk, status=TrialStatus.SETUP).update(status=TrialStatus.QUEUED):
            trial_enqueue(trial=trial)

"""Billing pages: the 14-day trial sign-up and the cost calculator."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from billing import calculator
from billing.forms import CalculatorForm, SignupForm
from billing.models import TRIAL_DAYS
from billing.services import plan_for, trial_signup
from helpdesk.access import active_membership, request_memberships
from helpdesk.throttle import throttle

INBOX_URL = "/inbox/"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        limited = throttle(request, scope="signup", account=str(request.POST.get("email", "")))
        if limited is not None:
            # Checked before trial_signup: nothing is created; the form shows why.
            form.add_error(None, limited.content.decode())
            context = {"form": form, "trial_days": TRIAL_DAYS}
            response = render(request, "billing/signup.html", context, status=429)
            response["Retry-After"] = limited["Retry-After"]
            return response
    if request.method == "POST" and form.is_valid():
        try:
            result = trial_signup(
                workspace_name=form.cleaned_data["workspace_name"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            login(request, result.user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(INBOX_URL)
    status = 400 if request.method == "POST" else 200
    return render(request, "billing/signup.html", {"form": form, "trial_days": TRIAL_DAYS}, status=status)


def _calculator_inputs(form: CalculatorForm) -> calculator.Inputs:
    data = form.cleaned_data
    return calculator.Inputs(
        tickets=data["tickets"],
        resolution_rate=data["resolution_rate"],
        attempts_per_ticket=data["attempts_per_ticket"],
        seats=data["seats"],
        seat_price=data["seat_price"],
    )


@login_required
@require_GET
def cost_calculator(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    plan = plan_for(membership.workspace)
    prefilled, from_history = calculator.last_30_days(plan=plan)
    submitted = any(name in request.GET for name in CalculatorForm.base_fields)
    form = CalculatorForm(request.GET) if submitted else CalculatorForm(initial=prefilled.as_dict())
    context: dict[str, object] = {
        "form": form,
        "plan": plan,
        "workspace": membership.workspace,
        "from_history": from_history and not submitted,
        "active_membership": membership,
        "memberships": request_memberships(request),
    }
    if submitted and not form.is_valid():
        return render(request, "billing/calculator.html", context, status=400)
    inputs = _calculator_inputs(form) if submitted else prefilled
    context["result"] = calculator.result(inputs=inputs, plan=plan)
    context["chart"] = calculator.chart_svg(inputs=inputs, plan=plan)
    return render(request, "billing/calculator.html", context)

"""The cost calculator as JSON (same inputs, same pricing functions as the page)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from billing import calculator
from billing.forms import CalculatorForm
from billing.services import plan_for
from billing.views import _calculator_inputs
from helpdesk.access import active_membership
from helpdesk.models import ApiToken, Workspace


def _workspace(request: Request) -> Workspace:
    # A workspace token scopes the call to its workspace; a session to the active membership.
    if isinstance(request.auth, ApiToken):
        return request.auth.workspace
    return active_membership(request._request).workspace


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def calculator_api(request: Request) -> Response:
    """GET with tickets, resolution_rate (%), attempts_per_ticket, seats, seat_price; any omitted
    input set means "my last 30 days"."""
    plan = plan_for(_workspace(request))
    prefilled, from_history = calculator.last_30_days(plan=plan)
    params = request.query_params
    if any(name in params for name in CalculatorForm.base_fields):
        form = CalculatorForm({**prefilled.as_dict(), **params.dict()})
        if not form.is_valid():
            return Response({"errors": {f: [str(m) for m in msgs] for f, msgs in form.errors.items()}}, status=400)
        inputs, from_history = _calculator_inputs(form), False
    else:
        inputs = prefilled
    return Response({**calculator.result(inputs=inputs, plan=plan), "from_last_30_days": from_history})

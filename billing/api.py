"""The cost calculator as JSON (same inputs, same pricing functions as the page)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, schema
from rest_framework.request import Request
from rest_framework.response import Response

from billing import calculator
from billing.forms import CalculatorForm
from billing.services import plan_for
from billing.views import _calculator_inputs
from helpdesk.access import active_membership
from helpdesk.api_schema import OasisAutoSchema
from helpdesk.models import ApiToken, Workspace


def _workspace(request: Request) -> Workspace:
    # A workspace token scopes the call to its workspace; a session to the active membership.
    if isinstance(request.auth, ApiToken):
        return request.auth.workspace
    return active_membership(request._request).workspace


class CalculatorInputsSerializer(serializers.Serializer[Any]):
    tickets = serializers.IntegerField()
    resolution_rate = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="Percent.")
    attempts_per_ticket = serializers.DecimalField(max_digits=4, decimal_places=2)
    seats = serializers.IntegerField()
    seat_price = serializers.DecimalField(max_digits=8, decimal_places=2)


class PricingModelsSerializer(serializers.Serializer[Any]):
    per_seat = serializers.DecimalField(max_digits=14, decimal_places=2)
    per_attempt = serializers.DecimalField(max_digits=14, decimal_places=2)
    per_outcome = serializers.DecimalField(max_digits=14, decimal_places=2)


class PricesSerializer(PricingModelsSerializer):
    per_attempt = serializers.DecimalField(max_digits=14, decimal_places=4, help_text="Priced in 1/100 cents.")


class CalculatorOutputSerializer(serializers.Serializer[Any]):
    inputs = CalculatorInputsSerializer()
    currency = serializers.CharField()
    prices = PricesSerializer()
    outcomes = serializers.IntegerField()
    attempts = serializers.DecimalField(max_digits=14, decimal_places=2)
    monthly = PricingModelsSerializer()
    from_last_30_days = serializers.BooleanField()


def _count(name: str) -> dict[str, Any]:
    field: Any = CalculatorForm.base_fields[name]
    return {"type": "integer", "minimum": field.min_value, "maximum": field.max_value}


def _amount(pattern: str) -> dict[str, Any]:
    return {"type": "string", "format": "decimal", "pattern": pattern}


# The form (billing.forms.CalculatorForm) decides what is valid; the schema states its bounds.
CALCULATOR_PARAMETERS = [
    OpenApiParameter("tickets", _count("tickets")),
    OpenApiParameter("resolution_rate", _amount(r"^(100(\.00?)?|\d{1,2}(\.\d{1,2})?)$"), description="Percent."),
    OpenApiParameter("attempts_per_ticket", _amount(r"^(20(\.00?)?|1?\d(\.\d{1,2})?)$")),
    OpenApiParameter("seats", _count("seats")),
    OpenApiParameter("seat_price", _amount(r"^(100000(\.00?)?|\d{1,5}(\.\d{1,2})?)$")),
]


@extend_schema(
    parameters=CALCULATOR_PARAMETERS,
    responses={
        200: CalculatorOutputSerializer,
        400: OpenApiResponse(OpenApiTypes.OBJECT, description="`{errors: {field: [messages]}}`."),
    },
)
@api_view(["GET"])
@schema(OasisAutoSchema())
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

"""API of the bounded tools: the enumerated allow-list, and decisions on held actions.

GET  /api/v1/tools/                      every tool of the workspace: enabled, limit, schema, rules
GET  /api/v1/actions/?status=pending     the approval queue
POST /api/v1/actions/<id>/approve/       managers and admins; executes once, sends the reply
POST /api/v1/actions/<id>/reject/        managers and admins; a note is required
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ai.access import action_for_request, actions_for_request
from ai.models import ActionRequest, ActionStatus
from ai.tools import AlreadyDecided, action_approve, action_reject, tool_catalog
from helpdesk.access import workspace_for_request
from helpdesk.api import OasisAPIView, TextField


class ToolSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    builtin = serializers.BooleanField()
    enabled = serializers.BooleanField()
    max_amount = serializers.CharField(allow_null=True)
    amount_arg = serializers.CharField(allow_null=True)
    schema = serializers.JSONField()
    approval_rules = serializers.JSONField()


class ToolCatalogSerializer(serializers.Serializer):  # type: ignore[type-arg]
    workspace = serializers.SlugField()
    currency = serializers.CharField()
    tools = ToolSerializer(many=True)


class ToolListApi(OasisAPIView):
    @extend_schema(
        summary="The workspace's tools: what the AI may do, with limits, schemas and approval rules",
        parameters=[OpenApiParameter("workspace", OpenApiTypes.INT, description="For members of several.")],
        responses=ToolCatalogSerializer,
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("workspace")
        try:
            workspace_id = int(raw) if raw else None
        except ValueError:
            raise exceptions.ValidationError({"workspace": ["A workspace id is a number."]}) from None
        workspace = workspace_for_request(request, workspace_id)
        catalog = tool_catalog(workspace=workspace)
        return Response({"workspace": workspace.slug, "currency": workspace.currency, "tools": catalog})


class ActionOutputSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    ticket_number = serializers.IntegerField(source="ticket.number")
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True, allow_null=True)
    decided_by = serializers.EmailField(source="decided_by.email", allow_null=True, default=None)

    class Meta:
        model = ActionRequest
        fields = [
            "id",
            "ticket",
            "ticket_number",
            "tool",
            "args",
            "amount",
            "status",
            "rule",
            "reply_draft",
            "requested_by",
            "decided_by",
            "decided_at",
            "note",
            "result",
            "executed_at",
            "created_at",
        ]


class ActionPageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    results = ActionOutputSerializer(many=True, help_text="At most 200.")


class ActionListApi(OasisAPIView):
    @extend_schema(
        summary="Action requests (the approval queue): pending first, oldest first",
        parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=ActionStatus.values)],
        responses=ActionPageSerializer,
    )
    def get(self, request: Request) -> Response:
        actions = actions_for_request(request).select_related("ticket", "decided_by").order_by("created_at")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in ActionStatus.values:
                raise exceptions.ValidationError({"status": [f"Use one of {ActionStatus.values}."]})
            actions = actions.filter(status=wanted)
        return Response({"results": ActionOutputSerializer(actions[:200], many=True).data})


class DecisionInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


REJECT_NOTE_MISSING = "Say why the request is rejected."


class RejectInputSerializer(serializers.Serializer):  # type: ignore[type-arg]
    note = TextField(
        max_length=2000,
        help_text="Why the request is rejected (the ticket's team reads it).",
        error_messages={"required": REJECT_NOTE_MISSING, "blank": REJECT_NOTE_MISSING},
    )


ALREADY_DECIDED = OpenApiResponse(OpenApiTypes.OBJECT, description="Already decided: `{detail}`.")


class _DecisionApi(OasisAPIView):
    decision = ""
    input_serializer: type[serializers.Serializer] = DecisionInputSerializer  # type: ignore[type-arg]

    def _decide(self, request: Request, action_id: int) -> Response:
        action = action_for_request(request, action_id)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        note: str = data.validated_data["note"]
        user: Any = request.user
        try:
            if self.decision == "approve":
                action = action_approve(action=action, user=user, note=note)
            else:
                action = action_reject(action=action, user=user, note=note)
        except PermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except AlreadyDecided as exc:
            return Response({"detail": exc.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(ActionOutputSerializer(action).data)


class ActionApproveApi(_DecisionApi):
    decision = "approve"

    @extend_schema(request=DecisionInputSerializer, responses={200: ActionOutputSerializer, 409: ALREADY_DECIDED})
    def post(self, request: Request, action_id: int) -> Response:
        return self._decide(request, action_id)


class ActionRejectApi(_DecisionApi):
    decision = "reject"
    input_serializer = RejectInputSerializer

    @extend_schema(request=RejectInputSerializer, responses={200: ActionOutputSerializer, 409: ALREADY_DECIDED})
    def post(self, request: Request, action_id: int) -> Response:
        return self._decide(request, action_id)

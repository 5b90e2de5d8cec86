"""The Copilot API: GET/POST /api/v1/tickets/<id>/copilot/ and POST .../copilot/feedback/.

Workspace scope comes from `helpdesk.access.ticket_for_request` (a 404 for other workspaces).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ai.copilot import copilot_latest, copilot_payload, copilot_refresh, draft_feedback_record
from ai.models import AgentRun, FeedbackVerdict
from helpdesk.access import ticket_for_request
from helpdesk.api import OasisAPIView


class CitationSerializer(serializers.Serializer[Any]):
    n = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.CharField()


class CopilotDraftSerializer(serializers.Serializer[Any]):
    text = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    confidence_parts = serializers.DictField()
    citations = CitationSerializer(many=True)
    decision = serializers.CharField()
    reason = serializers.CharField()
    ticket_type = serializers.CharField()
    language = serializers.CharField()
    status = serializers.CharField()


class CopilotOutputSerializer(serializers.Serializer[Any]):
    run = serializers.IntegerField()
    summary = serializers.DictField(allow_null=True)
    draft = CopilotDraftSerializer()
    next_steps = serializers.DictField(allow_null=True)
    generated_at = serializers.CharField()


class CopilotApi(OasisAPIView):
    @extend_schema(responses=CopilotOutputSerializer, summary="The Copilot's summary, draft and next steps")
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_for_request(request, ticket_id)
        run = copilot_latest(ticket=ticket)
        payload = copilot_payload(run) if run is not None else copilot_refresh(ticket=ticket, user=request.user)
        return Response(CopilotOutputSerializer(payload).data)

    @extend_schema(
        request=None, responses={201: CopilotOutputSerializer}, summary="Regenerate the Copilot's suggestions"
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_for_request(request, ticket_id)
        payload = copilot_refresh(ticket=ticket, user=request.user)
        return Response(CopilotOutputSerializer(payload).data, status=status.HTTP_201_CREATED)


class CopilotFeedbackApi(OasisAPIView):
    class InputSerializer(serializers.Serializer[Any]):
        run = serializers.IntegerField()
        verdict = serializers.ChoiceField(choices=FeedbackVerdict.choices)
        reason = serializers.ChoiceField(
            choices=["", "wrong", "unhelpful", "tone", "made_things_up"], required=False, default=""
        )

    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        run = serializers.IntegerField(source="run_id")
        verdict = serializers.CharField()
        reason = serializers.CharField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer}, summary="Record what happened to a draft"
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_for_request(request, ticket_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = AgentRun.objects.filter(pk=data.validated_data["run"], ticket=ticket).first()
        if run is None:
            return Response({"run": ["No such run on this ticket."]}, status=status.HTTP_400_BAD_REQUEST)
        feedback = draft_feedback_record(
            run=run, user=request.user, verdict=data.validated_data["verdict"], reason=data.validated_data["reason"]
        )
        return Response(self.OutputSerializer(feedback).data, status=status.HTTP_201_CREATED)

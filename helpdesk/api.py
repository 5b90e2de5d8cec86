"""The REST API (/api/v1/): tickets and their messages.

One APIView per operation, with nested input/output serializers (Django-Styleguide). Every
endpoint reads tickets through `tickets_for_request(request)`, so the workspace scope lives in
one place: a token sees its own workspace, a logged-in member sees their workspaces, and any
other ticket is a 404. Every write calls a service in `helpdesk.services`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import APIView

from audit.services import Actor
from helpdesk import services
from helpdesk.access import ticket_for_request, tickets_for_request, workspace_for_request
from helpdesk.api_schema import OasisAutoSchema
from helpdesk.api_tokens import customer_key_message_add, customer_key_ticket_create
from helpdesk.models import (
    ApiToken,
    Channel,
    Message,
    MessageKind,
    Priority,
    Ticket,
    TicketQuerySet,
    TicketStatus,
    TicketType,
)

# ----------------------------------------------------------------------------- requests


def api_actor(request: Request) -> Actor:
    """The user behind the request, labelled so the audit log tells API changes apart."""
    actor = Actor.for_user(request.user)
    token = request.auth
    via = f"api key {token.prefix}" if isinstance(token, ApiToken) else "api"
    if isinstance(token, ApiToken) and token.customer_email:
        via = f"customer api key {token.prefix} for {token.customer_email}"
    return dataclasses.replace(actor, label=f"{actor.label} ({via})")


def customer_key(request: Request) -> ApiToken | None:
    """The request's key when it acts for one customer (helpdesk/api_auth.py), else None."""
    token = request.auth
    return token if isinstance(token, ApiToken) and token.customer_email else None


class OasisAPIView(APIView):
    schema = OasisAutoSchema()

    def handle_exception(self, exc: Exception) -> Response:
        # Services raise Django's ValidationError; it is a 400 with field errors here, in one place.
        if isinstance(exc, DjangoValidationError):
            detail = as_serializer_error(exc)
            if "__all__" in detail:
                detail["non_field_errors"] = detail.pop("__all__")
            exc = exceptions.ValidationError(detail)
        return super().handle_exception(exc)


class BearerTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "helpdesk.api_auth.WorkspaceTokenAuthentication"
    name = "workspaceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A workspace API key: `Bearer <key>`."}


# ------------------------------------------------------------------------ serializers


@extend_schema_field({"type": "string", "minLength": 1, "pattern": r"\S"})
class TextField(serializers.CharField):
    """Required text: DRF trims it, so whitespace alone is as empty as nothing (the schema says so)."""


class CustomerSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField()
    name = serializers.CharField()


class TicketLinksSerializer(serializers.Serializer[Any]):
    self = serializers.URLField()
    messages = serializers.URLField()


@extend_schema_serializer(component_name="Ticket")
class TicketOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    workspace = serializers.IntegerField(source="workspace_id")
    number = serializers.IntegerField()
    subject = serializers.CharField()
    status = serializers.ChoiceField(choices=TicketStatus.choices)
    ticket_type = serializers.ChoiceField(choices=TicketType.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    priority = serializers.ChoiceField(choices=Priority.choices)
    customer = CustomerSerializer()
    assignee_id = serializers.IntegerField(allow_null=True)
    assignee_email = serializers.EmailField(source="assignee.email", allow_null=True)
    ai_decision = serializers.CharField()
    ai_confidence = serializers.FloatField(allow_null=True)
    ai_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    links = serializers.SerializerMethodField()

    @extend_schema_field(TicketLinksSerializer)
    def get_links(self, ticket: Ticket) -> dict[str, str]:
        request: Request = self.context["request"]
        return {
            "self": request.build_absolute_uri(reverse("api-ticket-detail", args=[ticket.pk])),
            "messages": request.build_absolute_uri(reverse("api-ticket-messages", args=[ticket.pk])),
        }


@extend_schema_serializer(component_name="Message")
class MessageOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    ticket = serializers.IntegerField(source="ticket_id")
    kind = serializers.ChoiceField(choices=MessageKind.choices, help_text="`note` is internal: never sent.")
    author_kind = serializers.CharField()
    author_email = serializers.EmailField(source="author_user.email", allow_null=True)
    body = serializers.CharField(help_text="Plain text, exactly as written; render it escaped.")
    created_at = serializers.DateTimeField()


def _page_serializer(name: str, item: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The cursor-paginated envelope, for the schema only."""
    page = type(
        f"{name}PageSerializer",
        (serializers.Serializer,),
        {
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
    return extend_schema_serializer(component_name=f"{name}Page")(page)


TicketPageSerializer = _page_serializer("Ticket", TicketOutputSerializer)
MessagePageSerializer = _page_serializer("Message", MessageOutputSerializer)

CURSOR_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next`/`previous` cursor of a page."),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="Items per page (at most 200)."),
]
WORKSPACE_PARAMETER = OpenApiParameter(
    "workspace", OpenApiTypes.INT, description="Narrow to one of your workspaces (session users)."
)


class TicketPagination(CursorPagination):
    ordering = ("-last_message_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class MessagePagination(CursorPagination):
    ordering = ("created_at", "id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 200


# ---------------------------------------------------------------------------- tickets


class TicketListApi(OasisAPIView):
    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=TicketStatus.choices, required=False)
        ticket_type = serializers.ChoiceField(choices=TicketType.choices, required=False)
        channel = serializers.ChoiceField(choices=Channel.choices, required=False)
        assignee = serializers.RegexField(
            r"^(none|\d+)$", required=False, help_text="A user id, or `none` for unassigned tickets."
        )
        q = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=500,
            help_text="Full-text search (web syntax) of subjects and messages; blank searches nothing.",
        )
        updated_after = serializers.DateTimeField(required=False)

    @extend_schema(
        operation_id="tickets_list",
        parameters=[FilterSerializer, WORKSPACE_PARAMETER, *CURSOR_PARAMETERS],
        responses=TicketPageSerializer,
    )
    def get(self, request: Request) -> Response:
        filters = TicketListApi.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        tickets = ticket_list_filter(tickets_for_request(request), **filters.validated_data)
        paginator = TicketPagination()
        page = paginator.paginate_queryset(tickets, request, view=self)
        data = TicketOutputSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


def ticket_list_filter(tickets: TicketQuerySet, **filters: Any) -> TicketQuerySet:
    for field in ("status", "ticket_type", "channel"):
        if filters.get(field):
            tickets = tickets.filter(**{field: filters[field]})
    assignee = filters.get("assignee")
    if assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee:
        tickets = tickets.filter(assignee_id=int(assignee))
    if filters.get("updated_after"):
        tickets = tickets.filter(updated_at__gt=filters["updated_after"])
    if (filters.get("q") or "").strip():
        tickets = tickets.search(filters["q"])
    return tickets


class TicketCreateApi(OasisAPIView):
    class InputSerializer(serializers.Serializer[Any]):
        customer_email = serializers.EmailField()
        customer_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
        subject = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
        body = TextField()
        channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)
        external_id = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
        workspace = serializers.IntegerField(
            required=False, help_text="Only for session users who are members of several workspaces."
        )

    @extend_schema(
        operation_id="tickets_create",
        request=extend_schema_serializer(component_name="TicketCreate")(InputSerializer),
        responses={201: TicketOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = TicketCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        workspace = workspace_for_request(request, data.pop("workspace", None))
        key = customer_key(request)
        if key is None:
            ticket = services.ticket_create(workspace=workspace, actor=api_actor(request), **data)
        elif data["customer_email"].lower() != key.customer_email.lower():
            raise exceptions.PermissionDenied(f"This API key acts for {key.customer_email} only.")
        else:
            data.pop("customer_email")
            ticket = customer_key_ticket_create(token=key, actor=api_actor(request), **data)
        ticket = ticket_for_request(request, ticket.pk)
        output = TicketOutputSerializer(ticket, context={"request": request}).data
        location = reverse("api-ticket-detail", args=[ticket.pk])
        return Response(output, status=status.HTTP_201_CREATED, headers={"Location": location})


class TicketDetailApi(OasisAPIView):
    @extend_schema(operation_id="tickets_retrieve", responses=TicketOutputSerializer)
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_for_request(request, ticket_id)
        return Response(TicketOutputSerializer(ticket, context={"request": request}).data)


# --------------------------------------------------------------------------- messages


class MessageListApi(OasisAPIView):
    @extend_schema(operation_id="tickets_messages_list", parameters=CURSOR_PARAMETERS, responses=MessagePageSerializer)
    def get(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_for_request(request, ticket_id)
        # A staff user or key sees internal notes too (`kind` tells them apart); a customer's key
        # sees what the customer sees.
        messages = Message.objects.filter(ticket=ticket).select_related("author_user")
        if customer_key(request) is not None:
            messages = messages.exclude(kind=MessageKind.NOTE)
        paginator = MessagePagination()
        page = paginator.paginate_queryset(messages, request, view=self)
        return paginator.get_paginated_response(MessageOutputSerializer(page, many=True).data)


class MessageCreateApi(OasisAPIView):
    class InputSerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(
            choices=MessageKind.choices,
            help_text="`reply` is sent to the customer, `note` stays internal, "
            "`customer` appends a message from the customer.",
        )
        body = TextField()

    @extend_schema(
        operation_id="tickets_messages_create",
        request=extend_schema_serializer(component_name="MessageCreate")(InputSerializer),
        responses={201: MessageOutputSerializer},
    )
    def post(self, request: Request, ticket_id: int) -> Response:
        ticket = ticket_for_request(request, ticket_id)
        serializer = MessageCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind, body = serializer.validated_data["kind"], serializer.validated_data["body"]
        actor = api_actor(request)
        key = customer_key(request)
        if key is not None and kind != MessageKind.CUSTOMER:
            raise exceptions.PermissionDenied("A customer's API key writes customer messages only.")
        if key is not None:
            message = customer_key_message_add(token=key, ticket=ticket, body=body, actor=actor)
        elif kind == MessageKind.REPLY:
            message = services.ticket_reply(ticket=ticket, body=body, actor=actor)
        elif kind == MessageKind.NOTE:
            message = services.ticket_add_note(ticket=ticket, body=body, actor=actor)
        else:
            message = services.ticket_add_customer_message(ticket=ticket, body=body, actor=actor)
        message = Message.objects.select_related("author_user").get(pk=message.pk)
        return Response(MessageOutputSerializer(message).data, status=status.HTTP_201_CREATED)


# One URL serves two operations (GET lists, POST creates); each operation keeps its own class
# and serializers, and these only bind them to the URL.


class TicketCollectionApi(TicketListApi, TicketCreateApi):
    pass


class MessageCollectionApi(MessageListApi, MessageCreateApi):
    pass


@csrf_exempt  # it changes nothing; a POST is answered 404 like any other method
def not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Not found."}, status=404)

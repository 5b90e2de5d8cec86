"""Audit pages: a ticket's timeline and exports, the workspace export, the trust page.

Every object comes through `helpdesk.access`, so another workspace's ticket is a 404.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from audit.export import parse_bound, ticket_export, workspace_export_lines
from audit.timeline import build_timeline
from audit.trust import MAX_LISTED_SCORES, SVG_HEIGHT, SVG_PAD, SVG_WIDTH, histogram, trust_answers
from helpdesk.access import active_membership, manager_membership, request_memberships, ticket_for_user
from helpdesk.models import ApiToken, Membership, Ticket

TIMELINE_TEMPLATE = "audit/timeline.html"


def _layout(request: HttpRequest, membership: Membership | None) -> dict[str, Any]:
    return {"active_membership": membership, "memberships": request_memberships(request)}


def timeline_context(ticket: Ticket) -> dict[str, Any]:
    return {"timeline": build_timeline(ticket), "ticket": ticket}


@login_required
@require_GET
def ticket_timeline(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id)
    membership = active_membership(request)
    return render(request, TIMELINE_TEMPLATE, {**_layout(request, membership), **timeline_context(ticket)})


@login_required
@require_GET
def ticket_export_json(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id)
    response = HttpResponse(
        json.dumps(ticket_export(ticket), indent=2, ensure_ascii=False), content_type="application/json"
    )
    filename = f"audit-{ticket.workspace.slug}-ticket-{ticket.number}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def workspace_export_jsonl(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    membership = manager_membership(request)
    bounds: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        try:
            bounds[name] = parse_bound(request.GET.get(name), end=name == "until")
        except ValidationError:
            # Plain text that never repeats the input: the value is the attacker's, not ours.
            return HttpResponseBadRequest(
                f"`{name}` must be a date (YYYY-MM-DD) or an ISO 8601 date-time.",
                content_type="text/plain; charset=utf-8",
            )
    since, until = bounds["since"], bounds["until"]
    response = StreamingHttpResponse(
        workspace_export_lines(workspace=membership.workspace, since=since, until=until),
        content_type="application/x-ndjson; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{membership.workspace.slug}-{stamp}.jsonl"'
    return response


@login_required
@require_GET
def trust(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    answers = trust_answers(membership.workspace)
    confidence = answers["confidence"]
    bars = histogram([s["confidence"] for s in confidence["scores"]])
    context = {
        **_layout(request, membership),
        "answers": answers,
        "bars": bars,
        "svg": {"width": SVG_WIDTH, "height": SVG_HEIGHT, "pad": SVG_PAD, "base": SVG_HEIGHT - SVG_PAD},
        "listed_scores": confidence["scores"][:MAX_LISTED_SCORES],
        "api_url": request.build_absolute_uri("/audit/api/trust/"),
    }
    return render(request, "audit/trust.html", context)


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def trust_api(request: Request) -> Response:
    """The trust page's answers as JSON: for the API token's workspace, or the active one."""
    if isinstance(request.auth, ApiToken):
        workspace = request.auth.workspace
    else:
        workspace = active_membership(request._request).workspace
    return Response(trust_answers(workspace))

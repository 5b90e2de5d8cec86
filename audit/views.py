"""Audit pages: a ticket's timeline and exports, the workspace export.

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

from audit.export import parse_bound, ticket_export, workspace_export_lines
from audit.timeline import build_timeline
from helpdesk.access import active_membership, manager_membership, request_memberships, ticket_for_user
from helpdesk.models import Membership, Ticket

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

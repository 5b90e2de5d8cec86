"""The trust page: the five questions a buyer asks, answered from the workspace's own data
(ai/trust.py). Mounted at /trust/ by oasis/urls.py and, under the audit namespace, at
/audit/trust/ and /audit/api/trust/ (registered through `audit.hooks`)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from ai.trust import MAX_LISTED_SCORES, SVG_HEIGHT, SVG_PAD, SVG_WIDTH, histogram, trust_answers
from helpdesk.access import active_membership, request_memberships
from helpdesk.models import ApiToken


@login_required
@require_GET
def trust(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    answers = trust_answers(membership.workspace)
    confidence = answers["confidence"]
    bars = histogram([s["confidence"] for s in confidence["scores"]])
    context = {
        "active_membership": membership,
        "memberships": request_memberships(request),
        "answers": answers,
        "bars": bars,
        "svg": {"width": SVG_WIDTH, "height": SVG_HEIGHT, "pad": SVG_PAD, "base": SVG_HEIGHT - SVG_PAD},
        "listed_scores": confidence["scores"][:MAX_LISTED_SCORES],
        "api_url": request.build_absolute_uri("/audit/api/trust/"),
    }
    return render(request, "ai/trust.html", context)


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def trust_api(request: Request) -> Response:
    """The trust page's answers as JSON: for the API token's workspace, or the active one."""
    if isinstance(request.auth, ApiToken):
        workspace = request.auth.workspace
    else:
        workspace = active_membership(request._request).workspace
    return Response(trust_answers(workspace))


# Under the audit namespace (audit:trust, audit:trust_api), beside the timeline the page links to.
audit_urlpatterns: list[URLPattern] = [
    path("trust/", trust, name="trust"),
    path("api/trust/", trust_api, name="trust_api"),
]

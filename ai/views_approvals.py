"""The Approvals page: pending action requests of the active workspace, decided by managers."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ai.models import ActionRequest, ActionStatus
from ai.tools import AlreadyDecided, action_approve, action_reject
from helpdesk.access import MANAGER_ROLES, active_membership, request_memberships


@login_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    pending = (
        ActionRequest.objects.filter(workspace_id=membership.workspace_id, status=ActionStatus.PENDING)
        .select_related("ticket__customer", "run")
        .order_by("created_at")
    )
    decided = (
        ActionRequest.objects.filter(workspace_id=membership.workspace_id)
        .exclude(status=ActionStatus.PENDING)
        .select_related("ticket", "decided_by")
        .order_by("-decided_at")[:20]
    )
    context: dict[str, Any] = {
        "pending": pending,
        "decided": decided,
        "can_decide": membership.role in MANAGER_ROLES,
        "active_membership": membership,
        "memberships": request_memberships(request),
    }
    return render(request, "ai/approvals.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, action_id: int) -> HttpResponse:
    membership = active_membership(request)
    action = ActionRequest.objects.filter(pk=action_id, workspace_id=membership.workspace_id).first()
    if action is None:
        raise Http404("No such request.")
    decision = request.POST.get("decision")
    note = request.POST.get("note", "")
    user: Any = request.user
    try:
        if decision == "approve":
            done = action_approve(action=action, user=user, note=note)
            messages.success(request, f"Approved: {done.tool} {done.get_status_display().lower()}.")
        elif decision == "reject":
            action_reject(action=action, user=user, note=note)
            messages.success(request, "Rejected; the ticket went back to the team.")
        else:
            messages.error(request, "Choose approve or reject.")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except (AlreadyDecided, ValidationError) as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("ai_approvals:list")

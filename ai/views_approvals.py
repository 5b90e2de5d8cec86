"""The Approvals page: held actions of the active workspace in words, with the order and the
reply that goes, decided by managers (who may edit the reply first)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ai.access import action_for_user
from ai.models import ActionRequest, ActionStatus
from ai.tools import AlreadyDecided, action_approve, action_reject
from ai.tools.approvals import action_return_arrived
from ai.tools.describe import action_words
from ai.tools.review import action_reviews
from helpdesk.access import MANAGER_ROLES, active_membership, request_memberships


@login_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    actions = ActionRequest.objects.filter(workspace_id=membership.workspace_id).select_related(
        "ticket__customer", "ticket__workspace", "run__trigger_message"
    )
    decided = (
        actions.exclude(status__in=[ActionStatus.PENDING, ActionStatus.WAITING_RETURN])
        .select_related("decided_by")
        .order_by("-decided_at")[:20]
    )
    currency = membership.workspace.currency
    pending = list(actions.filter(status=ActionStatus.PENDING).order_by("created_at"))
    waiting = list(actions.filter(status=ActionStatus.WAITING_RETURN).order_by("decided_at"))
    reviews = action_reviews([*pending, *waiting], workspace=membership.workspace)
    context: dict[str, Any] = {
        "pending": reviews[: len(pending)],
        "waiting_return": reviews[len(pending) :],
        "decided": [(a, action_words(a.tool, a.args, currency)) for a in decided],
        "can_decide": membership.role in MANAGER_ROLES,
        "active_membership": membership,
        "memberships": request_memberships(request),
    }
    return render(request, "ai/approvals.html", context)


@login_required
@require_POST
def decide(request: HttpRequest, action_id: int) -> HttpResponse:
    membership = active_membership(request)
    action = action_for_user(request, action_id)
    decision = request.POST.get("decision")
    note = request.POST.get("note", "")
    user: Any = request.user
    try:
        if decision == "approve":
            done = action_approve(action=action, user=user, note=note, reply=request.POST.get("reply"))
            words = action_words(done.tool, done.args, membership.workspace.currency)
            messages.success(request, f"Approved: {words}. {done.get_status_display()}.")
        elif decision == "reject":
            action_reject(action=action, user=user, note=note)
            messages.success(request, "Rejected; nothing was done or sent, and the ticket went back to the team.")
        elif decision == "return_arrived":
            done = action_return_arrived(action=action, user=user)
            if done.status == ActionStatus.EXECUTED:
                messages.success(request, "The refund is paid and the customer told.")
            else:
                reason = done.result.get("reason", "")
                messages.error(
                    request, f"The refund failed ({reason}); nothing was sent and the ticket went to the team."
                )
        else:
            messages.error(request, "Choose approve or reject.")
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except (AlreadyDecided, ValidationError) as exc:
        messages.error(request, "; ".join(exc.messages))
    return redirect("ai_approvals:list")

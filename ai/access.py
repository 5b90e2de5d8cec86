"""Access checks of the ai app in one place: action requests and trials.

An object of another workspace is indistinguishable from a missing one: 404, never 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from ai.models import ActionRequest, TrialRun
from helpdesk.access import active_membership, api_scope, manager_membership

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request


def actions_for_request(request: Request) -> QuerySet[ActionRequest]:
    """The action requests an API request may see: those of its key's or member's workspaces."""
    return ActionRequest.objects.filter(api_scope(request))


def action_for_request(request: Request, action_id: int) -> ActionRequest:
    return get_object_or_404(actions_for_request(request), pk=action_id)


def action_for_user(request: HttpRequest, action_id: int) -> ActionRequest:
    """An action request of the workspace the user works in now (the Approvals page)."""
    membership = active_membership(request)
    action = ActionRequest.objects.filter(pk=action_id, workspace_id=membership.workspace_id).first()
    if action is None:
        raise Http404("No such request.")
    return action


def trial_for_user(request: HttpRequest, trial_id: int) -> TrialRun:
    """The trial if it belongs to the workspace the manager (or admin) works in."""
    membership = manager_membership(request)
    trial = TrialRun.objects.filter(pk=trial_id, workspace_id=membership.workspace_id).first()
    if trial is None:
        raise Http404("No such trial.")
    return trial

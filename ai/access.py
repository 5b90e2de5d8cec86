"""Access checks of the ai app in one place: action requests and trials.

An object of another workspace is indistinguishable from a missing one: 404, never 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from ai.models import ActionRequest, TrialRun
from helpdesk.access import active_membership, api_scope, manager_membership
from helpdesk.models import Membership

if TYPE_CHECKING:
    from django.http import HttpRequest
    from rest_framework.request import Request

M = TypeVar("M", bound=Model)


def actions_for_request(request: Request) -> QuerySet[ActionRequest]:
    """The action requests an API request may see: those of its key's or member's workspaces."""
    return ActionRequest.objects.filter(api_scope(request))


def action_for_request(request: Request, action_id: int) -> ActionRequest:
    return get_object_or_404(actions_for_request(request), pk=action_id)


def action_for_user(request: HttpRequest, action_id: int) -> ActionRequest:
    """An action request of the workspace the user works in now (the Approvals page)."""
    return _in_workspace(ActionRequest.objects.all(), action_id, active_membership(request), "No such request.")


def trial_for_user(request: HttpRequest, trial_id: int) -> TrialRun:
    """The trial if it belongs to the workspace the manager (or admin) works in."""
    return _in_workspace(TrialRun.objects.all(), trial_id, manager_membership(request), "No such trial.")


def _in_workspace(queryset: QuerySet[M], pk: int, membership: Membership, missing: str) -> M:
    found = queryset.filter(pk=pk, workspace_id=membership.workspace_id).first()
    if found is None:
        raise Http404(missing)
    return found

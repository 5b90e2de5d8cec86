"""Template context for every page: the kill switch's state (a banner while the Agent is paused)
and whether the viewer may flip it. Lazy: nothing is queried unless a template reads it."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.utils.functional import SimpleLazyObject

from helpdesk.access import MANAGER_ROLES, active_membership
from helpdesk.models import Channel, Membership


def _membership(request: HttpRequest) -> Membership | None:
    if not request.user.is_authenticated:
        return None
    try:
        return active_membership(request)
    except Http404:
        return None


def agent_controls(request: HttpRequest) -> dict[str, Any]:
    def pauses() -> list[Any]:
        from ai.controls import active_pauses

        membership = _membership(request)
        return active_pauses(membership.workspace_id) if membership is not None else []

    def may_manage() -> bool:
        membership = _membership(request)
        return membership is not None and membership.role in MANAGER_ROLES

    return {
        "agent_pauses": SimpleLazyObject(pauses),
        "agent_controls_manager": SimpleLazyObject(may_manage),
        "agent_controls_channels": Channel.choices,
    }

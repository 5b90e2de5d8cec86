"""Access checks in one place: every view and endpoint fetches objects through these.

An object of another workspace is indistinguishable from a missing one: 404, never 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import Http404

from helpdesk.models import Membership, Role, Ticket, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest

    AnyUser = User | AnonymousUser

SESSION_KEY = "oasis_workspace_id"


def memberships_for(user: AnyUser) -> list[Membership]:
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name"))


def request_memberships(request: HttpRequest) -> list[Membership]:
    """`memberships_for(request.user)`, read once per request (the header lists them on every page)."""
    cached: list[Membership] | None = getattr(request, "_oasis_memberships", None)
    if cached is None:
        cached = memberships_for(request.user)
        request._oasis_memberships = cached  # type: ignore[attr-defined]
    return cached


def active_membership(request: HttpRequest) -> Membership:
    """The membership the user works in now (chosen in the header; first one by default)."""
    cached = getattr(request, "_oasis_membership", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    memberships = request_memberships(request)
    if not memberships:
        raise Http404("You are not a member of any workspace.")
    chosen = request.session.get(SESSION_KEY)
    membership = next((m for m in memberships if m.workspace_id == chosen), memberships[0])
    request._oasis_membership = membership  # type: ignore[attr-defined]
    return membership


def membership_for(*, user: AnyUser, workspace_id: int) -> Membership:
    if not user.is_authenticated:
        raise Http404
    membership = Membership.objects.filter(user=user, workspace_id=workspace_id).select_related("workspace").first()
    if membership is None:
        raise Http404
    return membership


def workspace_for_user(*, user: AnyUser, workspace_id: int, roles: tuple[str, ...] = ()) -> Workspace:
    membership = membership_for(user=user, workspace_id=workspace_id)
    if roles and membership.role not in roles:
        raise Http404
    return membership.workspace


def ticket_for_user(*, user: AnyUser, ticket_id: int | str, workspace_id: int | None = None) -> Ticket:
    """The ticket if the user is a member of its workspace (and of `workspace_id` if given)."""
    if not user.is_authenticated:
        raise Http404
    try:
        pk = int(ticket_id)
    except (TypeError, ValueError):
        raise Http404 from None
    queryset = Ticket.objects.filter(pk=pk, workspace__memberships__user=user).select_related(
        "workspace", "customer", "assignee"
    )
    if workspace_id is not None:
        queryset = queryset.filter(workspace_id=workspace_id)
    ticket = queryset.first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)
FINANCE_ROLES = (Role.FINANCE, Role.ADMIN)

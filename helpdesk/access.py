"""Access checks in one place: every view and endpoint fetches objects through these.

An object of another workspace is indistinguishable from a missing one: 404, never 403.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from rest_framework import exceptions

from helpdesk.models import ApiToken, Membership, Role, Ticket, TicketQuerySet, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest
    from rest_framework.request import Request

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


def manager_membership(request: HttpRequest) -> Membership:
    """The active membership if it manages its workspace: a manager's page does not exist for others."""
    membership = active_membership(request)
    if membership.role not in MANAGER_ROLES:
        raise Http404("No such page.")
    return membership


# ------------------------------------------------------------------------------------ API


def api_scope(request: Request, field: str = "workspace_id") -> Q:
    """The workspaces an API request reaches, as a filter on `field`: a key's own workspace, or the
    logged-in member's workspaces; nothing for anyone else."""
    token = request.auth
    if isinstance(token, ApiToken):
        return Q(**{field: token.workspace_id})
    if request.user.is_authenticated:
        return Q(**{f"{field}__in": Membership.objects.filter(user_id=request.user.pk).values("workspace_id")})
    return Q(pk__in=[])


def tickets_for_request(request: Request) -> TicketQuerySet:
    """The tickets this API request may see (a customer's key: that customer's only).

    `?workspace=<id>` narrows the scope; it never widens it.
    """
    tickets = Ticket.objects.filter(api_scope(request))
    token = request.auth
    if isinstance(token, ApiToken) and token.customer_email:
        tickets = tickets.filter(customer__email__iexact=token.customer_email)
    raw = request.query_params.get("workspace")
    if raw:
        try:
            tickets = tickets.filter(workspace_id=int(raw))
        except ValueError:
            raise exceptions.ValidationError({"workspace": ["A workspace id is a number."]}) from None
    return tickets.select_related("workspace", "customer", "assignee")


def ticket_for_request(request: Request, ticket_id: int) -> Ticket:
    return get_object_or_404(tickets_for_request(request), pk=ticket_id)


def workspace_for_request(request: Request, workspace_id: int | None) -> Workspace:
    """Where an API request writes: the key's workspace, or the member's (chosen if several)."""
    token = request.auth
    if isinstance(token, ApiToken):
        if workspace_id is not None and workspace_id != token.workspace_id:
            raise Http404("No such workspace.")
        return token.workspace
    user = request.user
    if not user.is_authenticated:
        raise Http404("No such workspace.")
    if workspace_id is not None:
        return workspace_for_user(user=user, workspace_id=workspace_id)
    workspace_ids = list(Membership.objects.filter(user_id=user.pk).values_list("workspace_id", flat=True)[:2])
    if not workspace_ids:
        raise Http404("You are not a member of any workspace.")
    if len(workspace_ids) > 1:
        raise exceptions.ValidationError({"workspace": ["You are a member of several workspaces: choose one."]})
    return workspace_for_user(user=user, workspace_id=workspace_ids[0])

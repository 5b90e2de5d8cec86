"""Throttling of sign-in, sign-up, the contact form and chat starts, with an audit trail.

The counting is `helpdesk.channels.ratelimit` (per IP, per workspace, per account, in Postgres).
This adds what a refusal means for a workspace: the first refusal of a window is recorded as an
audit event in each workspace concerned (the account's for a sign-in, the form's for a contact
or a chat), so an admin sees a password being guessed at or a form being flooded. Later refusals
in the same window are not recorded again: a flood would otherwise fill the audit chain.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from audit.services import Actor, audit_record
from helpdesk.channels.ratelimit import Verdict, check, client_ip, too_many
from helpdesk.models import Membership, Workspace

logger = logging.getLogger(__name__)

# A sign-up has no workspace yet: its refusals are logged, not audited.
EVENT_KINDS = {
    "login": "auth.login_throttled",
    "contact": "contact.throttled",
    "chat_start": "chat.start_throttled",
}
ACTOR = Actor.system("ratelimit")

Workspaces = Callable[[], Iterable[Workspace]]


def throttle(
    request: HttpRequest,
    *,
    scope: str,
    workspace_key: str = "",
    account: str = "",
    workspaces: Workspaces | None = None,
    json: bool = False,
) -> HttpResponse | None:
    """Count this request; None when it may go on, else the 429 to answer with."""
    verdict = check(request, scope=scope, workspace_key=workspace_key, account=account)
    if verdict.allowed:
        return None
    if verdict.first:
        logger.warning("%s throttled per %s from %s", scope, verdict.which, client_ip(request))
        _record(request, scope=scope, verdict=verdict, workspaces=workspaces)
    return too_many(verdict, json=json)


def account_workspaces(username: str) -> Workspaces:
    """The workspaces of the account a sign-in names (none for an unknown name)."""

    def read() -> list[Workspace]:
        members = Membership.objects.filter(user__username__iexact=username.strip()).select_related("workspace")
        return [m.workspace for m in members]

    return read


@transaction.atomic
def _record(request: HttpRequest, *, scope: str, verdict: Verdict, workspaces: Workspaces | None) -> None:
    data = {"limit": verdict.which, "ip": client_ip(request), "retry_after": verdict.retry_after}
    for workspace in workspaces() if workspaces is not None else ():
        audit_record(workspace=workspace, actor=ACTOR, kind=EVENT_KINDS[scope], data=data)

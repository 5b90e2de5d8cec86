"""API authentication: `Authorization: Bearer <key>` with a workspace-scoped ApiToken.

A customer-scoped key (`customer_email` set) acts for that one customer: it reaches only the
ticket and message endpoints (helpdesk/api.py narrows those to the customer's tickets), never
the staff endpoints its issuing member could use (approvals, tools, the Copilot).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from helpdesk.models import ApiToken, Membership

# The endpoints (URL names) a customer-scoped key may call.
CUSTOMER_KEY_VIEWS = frozenset({"api-tickets", "api-ticket-detail", "api-ticket-messages"})


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class WorkspaceTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <key>'.")
        key = header[1].decode(errors="replace")
        token = (
            ApiToken.objects.select_related("user", "workspace")
            .filter(key_hash=hash_key(key), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        # A token outlives nothing: if its user left the workspace, the key stops working.
        if not Membership.objects.filter(user=token.user, workspace=token.workspace).exists():
            raise exceptions.AuthenticationFailed("The key's user is no longer a member of its workspace.")
        match = getattr(request, "resolver_match", None)
        if token.customer_email and getattr(match, "url_name", None) not in CUSTOMER_KEY_VIEWS:
            raise exceptions.PermissionDenied("This API key acts for one customer: only their tickets and messages.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

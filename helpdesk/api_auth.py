"""API authentication: `Authorization: Bearer <key>` with a workspace-scoped ApiToken."""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from helpdesk.models import ApiToken, Membership


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
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

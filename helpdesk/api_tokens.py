"""Issuing and revoking workspace API keys.

The key is returned once, to the caller of `api_token_create`; only its SHA-256 is stored, so a
lost key cannot be recovered, only revoked and replaced. `prefix` (its first characters) lets a
person tell keys apart in the admin and the audit log without revealing them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk.api_auth import hash_key
from helpdesk.models import ApiToken, Membership, Workspace

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PREFIX_CHARS = 8


@transaction.atomic
def api_token_create(*, workspace: Workspace, user: AbstractBaseUser, name: str, actor: Actor) -> tuple[ApiToken, str]:
    """Issue a key that acts as `user` within `workspace`; returns the token and the clear key."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name (what uses it)."})
    if not Membership.objects.filter(workspace=workspace, user_id=user.pk).exists():
        raise ValidationError({"user": "The key's user must be a member of the workspace."})
    key = secrets.token_urlsafe(32)
    token = ApiToken(
        workspace=workspace,
        user_id=user.pk,
        name=name,
        prefix=key[:PREFIX_CHARS],
        key_hash=hash_key(key),
    )
    token.full_clean()
    token.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="api_token.created",
        data={
            "token": token.pk,
            "name": token.name,
            "prefix": token.prefix,
            "user": getattr(user, "email", "") or str(user),
        },
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: Actor) -> ApiToken:
    """Stop a key from working. Revoking an already revoked key changes nothing and records nothing."""
    now = timezone.now()
    # Conditional UPDATE: of two revocations at once, exactly one records the event.
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    token.refresh_from_db()
    if updated == 1:
        audit_record(
            workspace=token.workspace,
            actor=actor,
            kind="api_token.revoked",
            data={"token": token.pk, "name": token.name, "prefix": token.prefix},
        )
    return token

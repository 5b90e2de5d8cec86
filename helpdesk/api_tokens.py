"""Issuing and revoking workspace API keys, and what a customer-scoped key creates.

The key is returned once, to the caller of `api_token_create`; only its SHA-256 is stored, so a
lost key cannot be recovered, only revoked and replaced. `prefix` (its first characters) lets a
person tell keys apart in the admin and the audit log without revealing them.

A customer-scoped key (`customer_email`) is what a merchant's backend holds for a customer who
signed in there: the tickets and messages it creates are that customer's, verified for them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk.api_auth import hash_key
from helpdesk.models import ApiToken, Membership, Message, Ticket, Workspace
from helpdesk.models.identity import VerificationMethod
from helpdesk.services import ticket_add_customer_message, ticket_create
from helpdesk.services_identity import identity_verify

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PREFIX_CHARS = 8


@transaction.atomic
def api_token_create(
    *, workspace: Workspace, user: AbstractBaseUser, name: str, actor: Actor, customer_email: str = ""
) -> tuple[ApiToken, str]:
    """Issue a key that acts as `user` within `workspace` (or, with `customer_email`, for that
    one customer only); returns the token and the clear key."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the key a name (what uses it)."})
    customer_email = (customer_email or "").strip()
    if customer_email:
        try:
            validate_email(customer_email)
        except ValidationError:
            raise ValidationError({"customer_email": "Give the customer's e-mail address."}) from None
    if not Membership.objects.filter(workspace=workspace, user_id=user.pk).exists():
        raise ValidationError({"user": "The key's user must be a member of the workspace."})
    key = secrets.token_urlsafe(32)
    token = ApiToken(
        workspace=workspace,
        user_id=user.pk,
        name=name,
        prefix=key[:PREFIX_CHARS],
        key_hash=hash_key(key),
        customer_email=customer_email,
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
            "customer": customer_email,
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


def _verify_for_key(*, ticket: Ticket, token: ApiToken, actor: Actor) -> None:
    identity_verify(
        ticket=ticket,
        method=VerificationMethod.API_TOKEN,
        actor=actor,
        evidence={"token": token.pk, "prefix": token.prefix},
    )


@transaction.atomic
def customer_key_ticket_create(
    *,
    token: ApiToken,
    actor: Actor,
    subject: str,
    body: str,
    channel: str,
    customer_name: str = "",
    external_id: str = "",
) -> Ticket:
    """A ticket opened with a customer-scoped key: the key's customer's, verified for it in the
    same transaction (before the Agent's run, enqueued when it commits, reads the proofs)."""
    ticket = ticket_create(
        workspace=token.workspace,
        channel=channel,
        customer_email=token.customer_email,
        customer_name=customer_name,
        subject=subject,
        body=body,
        actor=actor,
        external_id=external_id,
    )
    _verify_for_key(ticket=ticket, token=token, actor=actor)
    return ticket


@transaction.atomic
def customer_key_message_add(*, token: ApiToken, ticket: Ticket, body: str, actor: Actor) -> Message:
    """The key's customer writes again on their ticket (the caller checked it is theirs)."""
    message = ticket_add_customer_message(ticket=ticket, body=body, actor=actor)
    _verify_for_key(ticket=ticket, token=token, actor=actor)
    return message

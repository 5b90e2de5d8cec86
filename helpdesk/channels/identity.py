"""Signed customer identity for the chat widget, and the portal's signed links.

A merchant who knows who is logged in on their site passes the widget an identity token:

    token = base64url(json({"email", "name", "exp", "jti"})) + "." + hex(HMAC-SHA256(payload, secret))

where `payload` is the base64url text and `secret` the workspace's widget secret
(WidgetSettings). We verify it in constant time and check `exp` (Unix seconds, at most an hour
ahead: a token is minted per page view). A token starts ONE chat session: its hash is kept on
the session (unique), so a replay of it is refused; `jti` (a random string) keeps two tokens
minted in the same second apart. Only a signed session is *verified*, and only a verified
customer lets the AI's tools act on an account (helpdesk/services_identity.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from helpdesk.models import Workspace
from helpdesk.models.channels import WidgetSettings

MAX_TOKEN_CHARS = 2048
MAX_TOKEN_LIFETIME_S = 3600  # a token valid for longer is refused: merchants mint them per page view


class IdentityError(Exception):
    """The identity token is malformed, forged or expired (the message says which)."""


@dataclass(frozen=True)
class Identity:
    email: str
    name: str
    exp: int


def widget_secret(workspace: Workspace) -> str:
    settings_row, _ = WidgetSettings.objects.get_or_create(workspace=workspace)
    return settings_row.secret


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, secret: str) -> str:
    return hmac.new(secret.encode(), payload.encode("ascii"), hashlib.sha256).hexdigest()


def identity_token_sign(
    *, secret: str, email: str, name: str = "", exp: int | None = None, jti: str | None = None
) -> str:
    """What the merchant's server does (our demo page and tests use it too)."""
    exp = int(time.time()) + 600 if exp is None else exp
    claims = {"email": email, "name": name, "exp": exp, "jti": secrets.token_urlsafe(12) if jti is None else jti}
    payload = _b64encode(json.dumps(claims, separators=(",", ":")).encode())
    return f"{payload}.{_mac(payload, secret)}"


def identity_token_verify(token: str, *, secret: str, now: float | None = None) -> Identity:
    now = time.time() if now is None else now
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise IdentityError("The identity token is malformed.")
    payload, signature = token.split(".")
    try:
        payload.encode("ascii")
    except UnicodeEncodeError:
        raise IdentityError("The identity token is malformed.") from None
    if not hmac.compare_digest(_mac(payload, secret), signature.lower()):
        raise IdentityError("The identity token's signature does not match this workspace.")
    try:
        data: Any = json.loads(_b64decode(payload))
    except (ValueError, UnicodeDecodeError):
        raise IdentityError("The identity token is malformed.") from None
    if not isinstance(data, dict):
        raise IdentityError("The identity token is malformed.")
    email, name, exp = data.get("email"), data.get("name") or "", data.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise IdentityError("The identity token has no expiry.")
    if exp <= now:
        raise IdentityError("The identity token has expired.")
    if exp > now + MAX_TOKEN_LIFETIME_S:
        raise IdentityError(f"The identity token is valid for too long (at most {_lifetime()}).")
    if not isinstance(email, str) or not isinstance(name, str):
        raise IdentityError("The identity token is malformed.")
    try:
        validate_email(email)
    except ValidationError:
        raise IdentityError("The identity token's email is not valid.") from None
    return Identity(email=email, name=name[:200], exp=exp)


def _lifetime() -> str:
    minutes = MAX_TOKEN_LIFETIME_S // 60
    if minutes % 60:
        return f"{minutes} minutes"
    return "1 hour" if minutes == 60 else f"{minutes // 60} hours"


# ------------------------------------------------------------------- portal links

PORTAL_SALT = "oasis.portal.ticket"
PORTAL_MAX_AGE_S = 30 * 86400


def portal_token(ticket_id: int) -> str:
    """A link to one ticket's public thread; signed (salted per purpose) and timestamped."""
    return signing.TimestampSigner(salt=PORTAL_SALT).sign(str(ticket_id))


def portal_ticket_id(token: str) -> int | None:
    """The ticket a portal token opens, or None when it is tampered with or expired."""
    try:
        value = signing.TimestampSigner(salt=PORTAL_SALT).unsign(token, max_age=PORTAL_MAX_AGE_S)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return None
    return int(value) if value.isdigit() else None


# -------------------------------------------------------------------- magic links

MAGIC_LINK_SALT = "oasis.identity.magic_link"


def magic_link_token(*, link_id: int, nonce: str) -> str:
    """The token in a magic link: the link row and its nonce, signed (salted for this purpose).

    Expiry and single use live on the row (helpdesk.models.identity.MagicLink)."""
    return signing.Signer(salt=MAGIC_LINK_SALT).sign(f"{link_id}.{nonce}")


def magic_link_claims(token: str) -> tuple[int, str] | None:
    """(link id, nonce) from a magic-link token, or None when it is tampered with."""
    if not token or len(token) > 200:
        return None
    try:
        value = signing.Signer(salt=MAGIC_LINK_SALT).unsign(token)
    except signing.BadSignature:
        return None
    link_id, _, nonce = value.partition(".")
    return (int(link_id), nonce) if link_id.isdigit() and nonce else None

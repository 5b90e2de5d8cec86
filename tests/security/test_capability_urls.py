"""The public URLs whose credential is a secret, a signed token or a session header (the ones the
tenancy sweep allow-lists): workspace B's credentials, and forged ones, open nothing of A.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from django.core import signing
from django.test import Client

from helpdesk.channels.identity import PORTAL_SALT, identity_token_sign, magic_link_token, widget_secret
from helpdesk.models import ChatSession, CustomerVerification, MagicLink, MagicLinkStatus, VerificationMethod
from tests.security.sweep import LEAK, canary
from tests.security.world import Tenant, build_full_tenant, build_people_tenant, changed_models, snapshot

pytestmark = pytest.mark.django_db

MAIL = (
    b"From: Mallory <m@bravo.test>\r\nTo: alpha@oasis.localhost\r\nSubject: hi\r\n"
    b"Message-ID: <x@bravo.test>\r\n\r\nhello"
)


@pytest.fixture
def a(db) -> Tenant:
    return build_full_tenant(slug="alpha", text=canary, domain="alpha.test")


@pytest.fixture
def b(db) -> Tenant:
    return build_people_tenant(slug="bravo", domain="bravo.test")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_identities(a: Tenant, b: Tenant) -> dict[str, str]:
    """Identity tokens for workspace A's widget that A's secret never signed (or signed otherwise)."""
    a_secret, b_secret = widget_secret(a.workspace), widget_secret(b.workspace)
    now = int(time.time())
    good = identity_token_sign(secret=a_secret, email="carla@alpha.test")
    payload, signature = good.split(".")
    return {
        "signed with B's secret": identity_token_sign(secret=b_secret, email="carla@alpha.test"),
        "another email under A's signature": f"{_b64({'email': 'eve@alpha.test', 'exp': now + 60})}.{signature}",
        "expired": identity_token_sign(secret=a_secret, email="carla@alpha.test", exp=now - 1),
        "valid for a year": identity_token_sign(secret=a_secret, email="carla@alpha.test", exp=now + 366 * 86400),
        "no signature": f"{payload}.",
        "signature only": f".{signature}",
        "signature cut short": f"{payload}.{signature[:-2]}",
        "three parts": f"{payload}.{signature}.{signature}",
        "empty secret": identity_token_sign(secret="", email="carla@alpha.test"),
        "not base64": f"!!!.{signature}",
        "no expiry": f"{_b64({'email': 'carla@alpha.test'})}.{signature}",
        "not an email": identity_token_sign(secret=a_secret, email="carla"),
        "a list": f"{_b64([1])}.{signature}",  # type: ignore[arg-type]
        "non-ascii payload": f"é{payload}.{signature}",
        "huge": "a" * 5000 + "." + signature,
        "B's chat session token": b.chat_token,
    }


def magic_link_forgeries(a: Tenant, b: Tenant) -> dict[str, str]:
    """Tokens for A's magic link that its signer never issued."""
    link = MagicLink.objects.get(workspace=a.workspace)
    b_link = MagicLink.objects.get(workspace=b.workspace)
    tampered = b.magic_link_token.replace(f"{b_link.pk}.", f"{link.pk}.", 1)
    claims = f"{link.pk}.{link.nonce}"
    return {
        "B's link pointed at A": tampered,
        "B's nonce": magic_link_token(link_id=link.pk, nonce=b_link.nonce),
        "other salt": signing.Signer(salt="another.purpose").sign(claims),
        "no salt": signing.Signer().sign(claims),
        "A's portal link": a.portal_token,
        "no signature": claims,
    }


def test_it_refuses_workspace_b_credentials_and_forgeries_on_workspace_a(a, b):
    before = snapshot(a.workspace)
    client = Client()
    slug = a.workspace.slug
    problems: list[str] = []

    def expect(what: str, response: Any, status: int) -> None:
        if response.status_code != status or LEAK.search(response.content):
            problems.append(f"{what}: {response.status_code} {response.content[:120]!r}")

    # The inbound webhook, with B's secret.
    response = client.post(
        f"/inbound/email/{slug}/",
        MAIL,
        content_type="message/rfc822",
        HTTP_X_OASIS_INBOUND_SECRET=b.workspace.inbound_secret,
    )
    expect("inbound email with B's secret", response, 403)
    # The widget, with B's visitor session.
    session = {"HTTP_X_OASIS_SESSION": b.chat_token}
    expect("widget poll", client.get(f"/chat/api/{slug}/messages/", **session), 401)
    body = json.dumps({"body": "hi", "client_id": "x"})
    expect(
        "widget post", client.post(f"/chat/api/{slug}/messages/", body, content_type="application/json", **session), 401
    )
    body = json.dumps({"message_id": 1, "solved": True})
    expect(
        "widget feedback",
        client.post(f"/chat/api/{slug}/feedback/", body, content_type="application/json", **session),
        401,
    )
    # The widget's signed identity, forged.
    forged = forged_identities(a, b)
    for label, token in forged.items():
        body = json.dumps({"identity_token": token})
        response = client.post(f"/chat/api/{slug}/sessions/", body, content_type="application/json")
        expect(f"identity token {label}", response, 401)
    # Portal links: B's, pointed at A's ticket; signed for another purpose; garbage.
    b_value, _ = b.portal_token.split(":", 1)
    tampered = b.portal_token.replace(f"{b_value}:", f"{a.ticket.pk}:", 1)
    other_salt = signing.TimestampSigner(salt="another.purpose").sign(str(a.ticket.pk))
    unsalted = signing.TimestampSigner().sign(str(a.ticket.pk))
    for label, token in {"B's link pointed at A": tampered, "other salt": other_salt, "no salt": unsalted}.items():
        expect(f"portal {label}", client.get(f"/portal/{token}/"), 404)
        expect(f"portal reply {label}", client.post(f"/portal/{token}/", {"body": "hi"}), 404)
        expect(f"portal solved {label}", client.post(f"/portal/{token}/solved/yes/"), 404)
    # Magic links: B's pointed at A's link, A's link with B's nonce (signed even: a leaked key
    # alone opens nothing), A's link id and nonce signed for another purpose, A's portal link.
    for label, token in magic_link_forgeries(a, b).items():
        expect(f"magic link {label}", client.get(f"/portal/verify/{token}/"), 404)
        expect(f"magic link confirm {label}", client.post(f"/portal/verify/{token}/"), 404)
    # A's help center keeps its drafts.
    draft = a.draft_article.slug
    expect("draft article", client.get(f"/help/{slug}/{draft}/"), 404)
    expect("deflect to a draft", client.get(f"/help/{slug}/contact/deflect/{draft}/"), 404)

    assert problems == []
    assert len(forged) == 16
    assert PORTAL_SALT != "another.purpose"
    assert changed_models(before, snapshot(a.workspace)) == []
    assert not ChatSession.objects.filter(workspace=a.workspace, verified=True).exists()
    assert MagicLink.objects.get(workspace=a.workspace).status == MagicLinkStatus.PENDING
    assert not CustomerVerification.objects.filter(workspace=a.workspace, method=VerificationMethod.MAGIC_LINK).exists()


def test_it_opens_workspace_a_with_its_own_credentials(a):
    # The control: the same requests with A's own credentials get through.
    client = Client()
    slug = a.workspace.slug
    assert client.get(f"/chat/api/{slug}/messages/", HTTP_X_OASIS_SESSION=a.chat_token).status_code == 200
    token = identity_token_sign(secret=widget_secret(a.workspace), email="carla@alpha.test")
    body = json.dumps({"identity_token": token})
    assert client.post(f"/chat/api/{slug}/sessions/", body, content_type="application/json").status_code == 201
    assert client.get(f"/portal/{a.portal_token}/").status_code == 200
    assert client.get(f"/portal/verify/{a.magic_link_token}/").status_code == 200
    assert client.get(f"/help/{slug}/returns/").status_code == 200

"""The chat widget API: signed identity, idempotent posts, public-only polling, CORS, limits."""

from __future__ import annotations

import json
import time

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.channels.identity import IdentityError, identity_token_sign, identity_token_verify, widget_secret
from helpdesk.models import Message, Ticket
from helpdesk.models.channels import ChatSession
from helpdesk.services import ticket_add_note, ticket_reply
from helpdesk.services_identity import ticket_identity_verified
from helpdesk.tests.channels_support import api, future, poll, post, start, start_signed, start_visitor

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ identity


def test_it_verifies_a_signed_identity_token(client, workspace):
    token = start_signed(client, workspace, email="vip@customer.test", name="Vera Vip")
    session = ChatSession.objects.get()
    assert (session.email, session.name, session.verified) == ("vip@customer.test", "Vera Vip", True)
    assert session.token_hash != token and len(session.token_hash) == 64  # stored hashed

    post(client, workspace, token, "Where is my order A1001?")
    ticket = Ticket.objects.get()
    assert ticket.channel == "chat" and ticket.customer.email == "vip@customer.test"
    event = AuditEvent.objects.get(ticket=ticket, kind="chat.identity")
    assert event.data["verified"] is True and event.data["method"] == "signed_token"
    assert ticket_identity_verified(ticket) is True


def test_it_refuses_a_forged_token(client, workspace, other_workspace):
    # Signed with another workspace's secret, or edited after signing: both refused.
    foreign = identity_token_sign(secret=widget_secret(other_workspace), email="vip@customer.test", exp=future())
    response = start(client, workspace, identity_token=foreign)
    assert response.status_code == 401
    assert response.json() == {
        "error": "identity_invalid",
        "detail": "The identity token's signature does not match this workspace.",
    }
    good = identity_token_sign(secret=widget_secret(workspace), email="vip@customer.test", exp=future())
    _payload, mac = good.split(".")
    forged_payload = identity_token_sign(secret="guess", email="boss@acme.test", exp=future()).split(".")[0]
    assert start(client, workspace, identity_token=f"{forged_payload}.{mac}").status_code == 401
    assert start(client, workspace, identity_token="garbage").status_code == 401
    assert not ChatSession.objects.exists()


def test_it_refuses_an_expired_token(client, workspace):
    token = identity_token_sign(secret=widget_secret(workspace), email="vip@customer.test", exp=int(time.time()) - 1)
    response = start(client, workspace, identity_token=token)
    assert response.status_code == 401
    assert response.json()["detail"] == "The identity token has expired."
    with pytest.raises(IdentityError, match="too long"):
        identity_token_verify(identity_token_sign(secret="s", email="a@b.test", exp=future(30 * 86400)), secret="s")


def test_it_marks_a_typed_identity_unverified(client, workspace):
    token = start_visitor(client, workspace)
    post(client, workspace, token, "Hi, where is my order?")
    ticket = Ticket.objects.get()
    assert ChatSession.objects.get().verified is False
    assert AuditEvent.objects.get(ticket=ticket, kind="chat.identity").data["verified"] is False
    assert ticket_identity_verified(ticket) is False


def test_it_requires_a_valid_email_from_a_visitor(client, workspace):
    response = start(client, workspace, email="not an email", name="X")
    assert response.status_code == 400 and response.json()["error"] == "invalid"


# -------------------------------------------------------------- idempotency


def test_it_returns_the_same_message_when_a_client_id_is_reposted(client, workspace):
    token = start_visitor(client, workspace)
    first = post(client, workspace, token, "Where is my order?", client_id="abc-1")
    again = post(client, workspace, token, "Where is my order?", client_id="abc-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1

    second = post(client, workspace, token, "Order A1001", client_id="abc-2")
    assert second.status_code == 201
    assert Ticket.objects.count() == 1 and Message.objects.count() == 2
    assert [m["client_id"] for m in poll(client, workspace, token).json()["messages"]] == ["abc-1", "abc-2"]


def test_it_refuses_a_post_without_a_session_or_client_id(client, workspace):
    assert post(client, workspace, "not-a-token", "hello").status_code == 401
    token = start_visitor(client, workspace)
    assert post(client, workspace, token, "hello", client_id="").status_code == 400
    assert post(client, workspace, token, "   ").status_code == 400
    assert post(client, workspace, token, "x" * 4001).status_code == 413
    assert not Message.objects.exists()


def test_it_does_not_let_a_session_post_into_another_workspace(client, workspace, other_workspace):
    token = start_visitor(client, workspace)
    assert post(client, other_workspace, token, "hello").status_code == 401


# ------------------------------------------------------------------ polling


def test_it_polls_only_the_public_thread(client, workspace, agent):
    token = start_visitor(client, workspace)
    post(client, workspace, token, "Where is my order?")
    ticket = Ticket.objects.get()
    ticket_add_note(ticket=ticket, body="Internal: customer is a known chargeback risk", actor=Actor.for_user(agent))
    reply = ticket_reply(ticket=ticket, body="It ships tomorrow.", actor=Actor.for_user(agent))

    body = poll(client, workspace, token).json()
    assert [(m["author"], m["body"]) for m in body["messages"]] == [
        ("customer", "Where is my order?"),
        ("agent", "It ships tomorrow."),
    ]
    assert "chargeback" not in json.dumps(body)
    after = poll(client, workspace, token, after=body["messages"][0]["id"]).json()["messages"]
    assert [m["id"] for m in after] == [reply.pk]
    assert poll(client, workspace, token, after=reply.pk).json()["messages"] == []


def test_it_tells_the_customer_a_person_will_answer_when_escalated(client, workspace):
    token = start_visitor(client, workspace)
    post(client, workspace, token, "My parcel arrived wet and ruined")
    Ticket.objects.update(ai_decision="escalate")
    state = poll(client, workspace, token).json()["state"]
    assert state["notice"] == "Thanks, a person will answer shortly."


def versioned_poll(client, workspace, token, *, after=0, version="", wait=None):
    url = api(workspace, "messages") + f"?after={after}&v={version}"
    if wait is not None:
        url += f"&wait={wait}"
    return client.get(url, HTTP_X_OASIS_SESSION=token)


def test_it_answers_an_unchanged_thread_with_204_and_one_query(client, workspace, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = start_visitor(client, workspace)
    post(client, workspace, token, "Where is my order?")
    first = poll(client, workspace, token).json()
    version, last = first["version"], first["messages"][-1]["id"]

    with CaptureQueriesContext(connection) as queries:
        unchanged = versioned_poll(client, workspace, token, after=last, version=version)
    assert unchanged.status_code == 204 and unchanged.content == b""
    assert unchanged["Access-Control-Allow-Origin"] == "*"
    # The rate-limit counters (one statement) and the session's thread version: nothing else.
    assert len(queries.captured_queries) == 2, [q["sql"][:80] for q in queries.captured_queries]

    # A note changes nothing the customer sees; a reply does.
    ticket = Ticket.objects.get()
    ticket_add_note(ticket=ticket, body="Internal only", actor=Actor.for_user(agent))
    assert versioned_poll(client, workspace, token, after=last, version=version).status_code == 204
    reply = ticket_reply(ticket=ticket, body="It ships tomorrow.", actor=Actor.for_user(agent))
    changed = versioned_poll(client, workspace, token, after=last, version=version)
    assert changed.status_code == 200
    assert [m["id"] for m in changed.json()["messages"]] == [reply.pk]
    assert changed.json()["version"] != version


def test_it_long_polls_until_the_wait_is_over_when_nothing_changes(client, workspace):
    token = start_visitor(client, workspace)
    post(client, workspace, token, "Where is my order?")
    version = poll(client, workspace, token).json()["version"]
    started = time.monotonic()
    assert versioned_poll(client, workspace, token, version=version, wait=0.5).status_code == 204
    assert 0.45 <= time.monotonic() - started < 5
    # An old or missing version answers at once, whatever the wait.
    started = time.monotonic()
    assert versioned_poll(client, workspace, token, version="stale", wait=5).status_code == 200
    assert time.monotonic() - started < 2
    assert versioned_poll(client, workspace, token, wait="soon").status_code == 400


def test_it_refuses_a_poll_without_a_valid_session(client, workspace):
    assert versioned_poll(client, workspace, "nope", wait=5).status_code == 401
    token = start_visitor(client, workspace)
    missing = client.get("/chat/api/no-such-shop/messages/?after=0", HTTP_X_OASIS_SESSION=token)
    assert missing.status_code == 404


# --------------------------------------------------------------------- CORS


def test_it_allows_any_origin_on_the_widget_api_only(client, workspace):
    preflight = client.options(
        api(workspace, "messages"),
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-oasis-session",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "x-oasis-session" in preflight["Access-Control-Allow-Headers"].lower()
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight

    response = start(client, workspace, email="carla@customer.test")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert not response.cookies  # no cookie: nothing for CSRF to protect
    # The rest of the site does not open up.
    assert "Access-Control-Allow-Origin" not in client.get(f"/help/{workspace.slug}/contact/")


def test_it_exempts_only_the_widget_api_from_csrf(workspace):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert start(strict, workspace, email="carla@customer.test").status_code == 201
    contact = strict.post(
        f"/help/{workspace.slug}/contact/",
        {"email": "a@b.test", "subject": "Hi", "message": "Hello"},
    )
    assert contact.status_code == 403


# --------------------------------------------------------------- rate limits


def test_it_rate_limits_per_ip_with_retry_after(client, workspace, settings):
    settings.OASIS_RATE_LIMITS = {"chat_start": {"ip": (2, 60)}}
    assert start(client, workspace, email="a@customer.test").status_code == 201
    assert start(client, workspace, email="b@customer.test").status_code == 201
    refused = start(client, workspace, email="c@customer.test")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["Access-Control-Allow-Origin"] == "*"  # the widget can read the refusal
    assert ChatSession.objects.count() == 2
    # Another client IP has its own budget.
    assert start_other_ip(client, workspace).status_code == 201


def start_other_ip(client, workspace):
    return client.post(
        api(workspace, "sessions"),
        data=json.dumps({"email": "d@customer.test"}),
        content_type="application/json",
        REMOTE_ADDR="10.0.0.9",
    )


def test_it_does_not_spend_the_workspace_budget_on_requests_refused_per_ip(client, workspace, settings):
    from helpdesk.models.channels import RateCounter

    settings.OASIS_RATE_LIMITS = {"chat_start": {"ip": (1, 60), "workspace": (3, 60)}}
    assert start(client, workspace, email="a@customer.test").status_code == 201
    for _ in range(5):
        assert start(client, workspace, email="b@customer.test").status_code == 429
    counters = dict(RateCounter.objects.values_list("key", "hits"))
    assert counters == {
        "chat_start:ip:127.0.0.1": 6,
        f"chat_start:workspace:{workspace.slug}": 1,
        "chat_start:account:a@customer.test": 1,
    }
    assert start_other_ip(client, workspace).status_code == 201


def test_it_rate_limits_per_workspace(client, workspace, other_workspace, settings):
    settings.OASIS_RATE_LIMITS = {"chat_start": {"ip": (100, 60), "workspace": (1, 60)}}
    assert start(client, workspace, email="a@customer.test").status_code == 201
    assert start_other_ip(client, workspace).status_code == 429
    assert start(client, other_workspace, email="a@customer.test").status_code == 201


def test_it_caps_the_payload_size(client, workspace):
    response = client.post(
        api(workspace, "sessions"),
        data=json.dumps({"email": "a@b.test", "pad": "x" * 20000}),
        content_type="application/json",
    )
    assert response.status_code == 413

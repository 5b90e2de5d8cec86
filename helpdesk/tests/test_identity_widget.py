"""Signed widget identity: one session per token, short-lived, and demo minting only for the demo."""

from __future__ import annotations

import pytest

from audit.services import Actor
from helpdesk.channels.identity import identity_token_sign, widget_secret
from helpdesk.models import CustomerVerification, Ticket
from helpdesk.models.channels import ChatSession
from helpdesk.services import workspace_create
from helpdesk.tests.channels_support import future, post, start

pytestmark = pytest.mark.django_db


def test_it_refuses_a_second_session_with_the_same_identity_token(client, workspace):
    token = identity_token_sign(secret=widget_secret(workspace), email="vip@customer.test", exp=future(600))
    first = start(client, workspace, identity_token=token)
    assert first.status_code == 201 and first.json()["session"]["verified"] is True
    replay = start(client, workspace, identity_token=token)
    assert replay.status_code == 409
    assert replay.json()["error"] == "identity_reused"
    assert ChatSession.objects.count() == 1
    # A token minted for the next page view (its own jti) starts a session of its own.
    fresh = identity_token_sign(secret=widget_secret(workspace), email="vip@customer.test", exp=future(600))
    assert start(client, workspace, identity_token=fresh).status_code == 201


def test_it_refuses_an_identity_token_valid_for_more_than_an_hour(client, workspace):
    token = identity_token_sign(secret=widget_secret(workspace), email="vip@customer.test", exp=future(2 * 3600))
    response = start(client, workspace, identity_token=token)
    assert response.status_code == 401
    assert response.json()["detail"] == "The identity token is valid for too long (at most 1 hour)."
    assert not ChatSession.objects.exists()


def test_it_records_the_signed_identity_as_the_tickets_proof(client, workspace):
    token = identity_token_sign(secret=widget_secret(workspace), email="vip@customer.test", exp=future(600))
    session_token = start(client, workspace, identity_token=token).json()["session_token"]
    post(client, workspace, session_token, "Where is my order A1001?")
    proof = CustomerVerification.objects.get(ticket=Ticket.objects.get())
    assert (proof.method, proof.customer.email) == ("widget_token", "vip@customer.test")
    assert proof.evidence["session"] == ChatSession.objects.get().pk


def test_it_mints_demo_identities_only_for_the_demo_workspace(client, workspace):
    # Signing for any e-mail anywhere else would let anyone chat as any customer of that shop.
    assert client.get(f"/chat/demo/{workspace.slug}/?customer=carla@customer.test").status_code == 404
    assert client.get(f"/chat/demo/{workspace.slug}/").status_code == 404
    demo = workspace_create(name="Demo", slug="demo", actor=Actor.system("test"))
    page = client.get(f"/chat/demo/{demo.slug}/?customer=carla@customer.test")
    assert page.status_code == 200 and b"data-identity-token=" in page.content


def test_it_serves_no_demo_page_outside_debug_and_tests(client, settings):
    workspace_create(name="Demo", slug="demo", actor=Actor.system("test"))
    settings.DEBUG = settings.TESTING = False
    assert client.get("/chat/demo/demo/?customer=carla@customer.test").status_code == 404

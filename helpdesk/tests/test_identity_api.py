"""Customer-scoped API keys: they act for one customer, and verify that customer on what they create."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.api_tokens import api_token_create
from helpdesk.models import ApiToken, Message, Ticket
from helpdesk.services import ticket_add_note, ticket_create
from helpdesk.services_identity import ticket_identity_verified

TICKETS = "/api/v1/tickets/"
CARLA = "carla@customer.test"


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def carla_key(workspace, manager):
    _, key = api_token_create(
        workspace=workspace, user=manager, name="shop backend", actor=Actor.system("test"), customer_email=CARLA
    )
    return key


@pytest.fixture
def staff_key(workspace, manager):
    return api_token_create(workspace=workspace, user=manager, name="integration", actor=Actor.system("test"))[1]


def open_ticket(client: APIClient, email: str = CARLA, body: str = "Where is my order A1001?"):
    return client.post(TICKETS, {"customer_email": email, "body": body}, format="json")


def test_it_verifies_the_customer_on_a_ticket_a_customer_key_opens(workspace, carla_key):
    response = open_ticket(client_for(carla_key))
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["id"])
    assert ticket.customer.email == CARLA
    assert ticket_identity_verified(ticket)
    proof = ticket.verifications.get()
    assert proof.method == "api_token" and proof.evidence["prefix"] == ApiToken.objects.get().prefix
    event = AuditEvent.objects.get(ticket=ticket, kind="identity.verified")
    assert event.data["method"] == "api_token"


def test_it_does_not_verify_a_ticket_a_staff_key_opens_for_a_typed_address(workspace, staff_key):
    response = open_ticket(client_for(staff_key))
    assert response.status_code == 201
    assert not ticket_identity_verified(Ticket.objects.get(pk=response.json()["id"]))


def test_it_refuses_a_customer_key_writing_for_someone_else(workspace, carla_key):
    response = open_ticket(client_for(carla_key), email="bob@other.test")
    assert response.status_code == 403
    assert "acts for carla@customer.test only" in response.json()["detail"]
    assert not Ticket.objects.exists()


def test_it_shows_a_customer_key_only_its_customers_tickets_without_notes(workspace, carla_key, agent):
    client = client_for(carla_key)
    own = ticket_create(workspace=workspace, channel="email", customer_email=CARLA, subject="Mine", body="Hello")
    other = ticket_create(workspace=workspace, channel="email", customer_email="bob@other.test", subject="B", body="B")
    ticket_add_note(ticket=own, body="internal: refund risk", actor=Actor.for_user(agent))
    assert [t["id"] for t in client.get(TICKETS).json()["results"]] == [own.pk]
    assert client.get(f"{TICKETS}{other.pk}/").status_code == 404
    kinds = [m["kind"] for m in client.get(f"{TICKETS}{own.pk}/messages/").json()["results"]]
    assert kinds == ["customer"]


def test_it_lets_a_customer_key_write_customer_messages_only(workspace, carla_key):
    client = client_for(carla_key)
    own = ticket_create(workspace=workspace, channel="email", customer_email=CARLA, subject="Mine", body="Hello")
    assert not ticket_identity_verified(own)
    url = f"{TICKETS}{own.pk}/messages/"
    assert client.post(url, {"kind": "reply", "body": "We refunded you."}, format="json").status_code == 403
    assert client.post(url, {"kind": "note", "body": "x"}, format="json").status_code == 403
    response = client.post(url, {"kind": "customer", "body": "Any news?"}, format="json")
    assert response.status_code == 201
    assert ticket_identity_verified(own)
    assert Message.objects.filter(ticket=own).count() == 2


def test_it_keeps_a_customer_key_off_the_staff_endpoints(workspace, carla_key):
    client = client_for(carla_key)
    for url in ("/api/v1/tools/", "/api/v1/actions/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "acts for one customer" in response.json()["detail"]


def test_it_issues_a_customer_key_from_the_command_line(workspace, manager):
    out, err = StringIO(), StringIO()
    call_command(
        "create_api_token",
        "--workspace=acme",
        f"--user={manager.email}",
        "--name=shop backend",
        f"--customer={CARLA}",
        stdout=out,
        stderr=err,
    )
    assert ApiToken.objects.get().customer_email == CARLA
    assert open_ticket(client_for(out.getvalue().strip())).status_code == 201

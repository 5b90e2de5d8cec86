from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from audit.services import Actor
from conftest import PASSWORD
from helpdesk.api_tokens import api_token_create, api_token_revoke
from helpdesk.models import ApiToken, Customer, Message, Ticket, TicketStatus, Workspace
from helpdesk.services import (
    membership_add,
    ticket_add_note,
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_set_type,
)

TICKETS = "/api/v1/tickets/"


def detail_url(ticket: Ticket) -> str:
    return f"{TICKETS}{ticket.pk}/"


def messages_url(ticket: Ticket) -> str:
    return f"{TICKETS}{ticket.pk}/messages/"


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def make_ticket(
    workspace: Workspace,
    *,
    subject: str = "Question",
    body: str = "Hello there",
    channel: str = "email",
    email: str = "c@customer.test",
    **kw: Any,
) -> Ticket:
    return ticket_create(
        workspace=workspace,
        channel=channel,
        customer_email=email,
        customer_name="C",
        subject=subject,
        body=body,
        **kw,
    )


def row_counts() -> tuple[int, int, int, int]:
    return (
        Ticket.objects.count(),
        Message.objects.count(),
        Customer.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def token_and_key(workspace, agent):
    return api_token_create(workspace=workspace, user=agent, name="integration", actor=Actor.system("test"))


@pytest.fixture
def api(token_and_key):
    return client_for(token_and_key[1])


@pytest.fixture
def outsider_api(other_workspace, outsider):
    _token, key = api_token_create(workspace=other_workspace, user=outsider, name="globex", actor=Actor.system("test"))
    return client_for(key)


# ------------------------------------------------------------------------------ tokens


def test_it_stores_only_the_hash_of_a_new_key(workspace, agent, token_and_key):
    token, key = token_and_key
    token.refresh_from_db()
    assert token.prefix == key[:8]
    assert token.key_hash != key
    assert len(token.key_hash) == 64
    event = AuditEvent.objects.get(workspace=workspace, kind="api_token.created")
    assert event.data["prefix"] == key[:8]
    assert event.data["user"] == agent.email
    assert key not in str(event.data)


def test_it_refuses_a_key_for_a_user_outside_the_workspace(workspace, outsider):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        api_token_create(workspace=workspace, user=outsider, name="nope", actor=Actor.system("test"))
    assert not ApiToken.objects.exists()


def test_it_authenticates_with_a_bearer_token(api, token_and_key, ticket):
    response = api.get(TICKETS)
    assert response.status_code == 200
    assert [t["id"] for t in response.json()["results"]] == [ticket.pk]
    token = ApiToken.objects.get(pk=token_and_key[0].pk)
    assert token.last_used_at is not None


def test_it_refuses_a_missing_key(ticket):
    response = APIClient().get(TICKETS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_a_wrong_key(ticket, token_and_key):
    response = client_for(token_and_key[1] + "x").get(TICKETS)
    assert response.status_code == 401
    response = client_for("").get(TICKETS)
    assert response.status_code == 401


def test_it_refuses_a_revoked_key(workspace, api, token_and_key, ticket):
    assert api.get(TICKETS).status_code == 200
    api_token_revoke(token=token_and_key[0], actor=Actor.system("test"))
    api_token_revoke(token=token_and_key[0], actor=Actor.system("test"))
    assert api.get(TICKETS).status_code == 401
    assert AuditEvent.objects.filter(workspace=workspace, kind="api_token.revoked").count() == 1


def test_it_creates_a_key_from_the_command_line(workspace, agent, ticket):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", workspace="acme", user=agent.email, name="cli", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert ApiToken.objects.get(name="cli").prefix == key[:8]
    assert client_for(key).get(detail_url(ticket)).status_code == 200


# ------------------------------------------------------------------------------ scope


def test_it_hides_other_workspaces_tickets(ticket, outsider_api, other_workspace):
    own = make_ticket(other_workspace, subject="Globex question")
    before = row_counts()
    for url in (detail_url(ticket), messages_url(ticket)):
        assert outsider_api.get(url).status_code == 404
    response = outsider_api.post(messages_url(ticket), {"kind": "reply", "body": "hi"}, format="json")
    assert response.status_code == 404
    assert outsider_api.post(messages_url(ticket), {"kind": "bogus"}, format="json").status_code == 404
    assert [t["id"] for t in outsider_api.get(TICKETS).json()["results"]] == [own.pk]
    narrowed = outsider_api.get(TICKETS, {"workspace": ticket.workspace_id})
    assert narrowed.status_code == 200
    assert narrowed.json()["results"] == []
    assert outsider_api.get(TICKETS, {"q": "order"}).json()["results"] == []
    assert row_counts() == before


def test_it_scopes_a_token_to_its_workspace_even_for_a_member_of_several(api, agent, ticket, other_workspace):
    membership_add(workspace=other_workspace, user=agent, role="agent", actor=Actor.system("test"))
    elsewhere = make_ticket(other_workspace, subject="Globex question")
    assert ids(api.get(TICKETS)) == {ticket.pk}
    assert ids(api.get(TICKETS, {"workspace": other_workspace.pk})) == set()
    assert api.get(detail_url(elsewhere)).status_code == 404
    assert api.get(messages_url(elsewhere)).status_code == 404


def test_it_refuses_to_create_a_ticket_in_another_workspace(ticket, outsider_api):
    before = row_counts()
    payload = {"customer_email": "x@y.test", "body": "hi", "workspace": ticket.workspace_id}
    assert outsider_api.post(TICKETS, payload, format="json").status_code == 404
    assert row_counts() == before


def test_it_scopes_a_session_user_to_their_memberships(ticket, agent, outsider, other_workspace):
    own = make_ticket(other_workspace, subject="Globex question")
    client = APIClient()
    assert client.login(username=outsider.email, password=PASSWORD)
    assert client.get(detail_url(ticket)).status_code == 404
    assert [t["id"] for t in client.get(TICKETS).json()["results"]] == [own.pk]

    client = APIClient()
    assert client.login(username=agent.email, password=PASSWORD)
    assert client.get(detail_url(ticket)).status_code == 200
    response = client.post(TICKETS, {"customer_email": "s@customer.test", "body": "From a session"}, format="json")
    assert response.status_code == 201
    assert Ticket.objects.get(pk=response.json()["id"]).workspace_id == ticket.workspace_id
    event = AuditEvent.objects.get(ticket_id=response.json()["id"], kind="ticket.created")
    assert event.actor == f"{agent.email} (api)"


# ---------------------------------------------------------------------------- tickets


def test_it_creates_a_ticket(api, workspace, token_and_key):
    response = api.post(
        TICKETS,
        {
            "customer_email": "dana@customer.test",
            "customer_name": "Dana",
            "subject": "Broken zipper",
            "body": "The zipper broke on day one.",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    ticket = Ticket.objects.get(pk=data["id"])
    assert ticket.workspace == workspace
    assert ticket.channel == "api"
    assert data["number"] == ticket.number
    assert data["status"] == "new"
    assert data["customer"] == {"email": "dana@customer.test", "name": "Dana"}
    assert data["assignee_email"] is None
    assert data["ai_confidence"] is None
    assert data["links"]["self"].endswith(detail_url(ticket))
    assert data["links"]["messages"].endswith(messages_url(ticket))
    assert response["Location"] == detail_url(ticket)
    assert list(ticket.messages.values_list("kind", "body")) == [("customer", "The zipper broke on day one.")]
    kinds = list(AuditEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True))
    assert kinds == ["ticket.created", "message.received"]
    assert AuditEvent.objects.filter(workspace=workspace, kind="customer.created").exists()
    prefix = token_and_key[0].prefix
    actors = set(AuditEvent.objects.filter(ticket=ticket).values_list("actor", flat=True))
    assert actors == {f"alice.agent@acme.test (api key {prefix})"}


def test_it_returns_one_ticket(api, ticket, agent):
    ticket_assign(ticket=ticket, assignee=agent, actor=Actor.system("test"))
    data = api.get(detail_url(ticket)).json()
    assert data["id"] == ticket.pk
    assert data["subject"] == "Where is my order?"
    assert data["channel"] == "email"
    assert data["assignee_id"] == agent.pk
    assert data["assignee_email"] == agent.email
    for key in ("ai_decision", "ai_reason", "priority", "ticket_type", "created_at", "updated_at", "last_message_at"):
        assert key in data


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"customer_email": "a@b.test"}, "body"),
        ({"customer_email": "a@b.test", "body": "   "}, "body"),
        ({"customer_email": "not-an-email", "body": "hi"}, "customer_email"),
        ({"customer_email": "a@b.test", "body": "hi", "channel": "pigeon"}, "channel"),
        ({"customer_email": "a@b.test", "body": "x" * (settings.OASIS_MAX_MESSAGE_CHARS + 1)}, "body"),
    ],
)
def test_it_refuses_a_bad_ticket_payload(api, ticket, payload, field):
    before = row_counts()
    response = api.post(TICKETS, payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert row_counts() == before


def test_it_explains_an_oversized_body(api, ticket):
    body = "x" * (settings.OASIS_MAX_MESSAGE_CHARS + 1)
    response = api.post(TICKETS, {"customer_email": "a@b.test", "body": body}, format="json")
    assert response.status_code == 400
    assert response.json()["body"] == [f"The message is longer than {settings.OASIS_MAX_MESSAGE_CHARS} characters."]


# --------------------------------------------------------------------------- messages


def test_it_replies_and_adds_a_note(api, ticket, workspace, agent):
    response = api.post(messages_url(ticket), {"kind": "reply", "body": "It ships tomorrow."}, format="json")
    assert response.status_code == 201, response.json()
    reply = Message.objects.get(pk=response.json()["id"])
    assert (reply.kind, reply.author_user, reply.body) == ("reply", agent, "It ships tomorrow.")
    assert response.json()["author_email"] == agent.email
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING

    response = api.post(messages_url(ticket), {"kind": "note", "body": "Checked with the warehouse."}, format="json")
    assert response.status_code == 201
    assert response.json()["kind"] == "note"

    response = api.post(messages_url(ticket), {"kind": "customer", "body": "Thanks!"}, format="json")
    assert response.status_code == 201
    assert response.json()["author_kind"] == "customer"

    kinds = list(AuditEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True))
    assert kinds[-4:] == ["message.replied", "note.added", "message.received", "ticket.reopened"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # the customer wrote back on a pending ticket


def test_it_lists_messages_oldest_first_with_notes(api, ticket, agent):
    ticket_add_note(ticket=ticket, body="Internal: VIP customer", actor=Actor.for_user(agent))
    response = api.get(messages_url(ticket))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(m["kind"], m["body"]) for m in results] == [
        ("customer", "Hi, my order A1001 has not arrived yet. Can you check?"),
        ("note", "Internal: VIP customer"),
    ]
    assert results[1]["author_email"] == agent.email


@pytest.mark.parametrize(
    "payload",
    [
        {"kind": "reply"},
        {"kind": "reply", "body": ""},
        {"kind": "shout", "body": "hi"},
        {"body": "hi"},
        {"kind": "note", "body": "x" * (settings.OASIS_MAX_MESSAGE_CHARS + 1)},
    ],
)
def test_it_refuses_a_bad_message_payload(api, ticket, payload):
    before = row_counts()
    response = api.post(messages_url(ticket), payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"kind", "body"}
    assert row_counts() == before


def test_it_refuses_a_reply_on_a_closed_ticket(api, ticket):
    ticket_close(ticket=ticket, actor=Actor.system("test"))
    before = row_counts()
    response = api.post(messages_url(ticket), {"kind": "reply", "body": "Hello?"}, format="json")
    assert response.status_code == 400
    assert "closed" in response.json()["non_field_errors"][0]
    assert row_counts() == before


def test_it_returns_html_in_a_body_as_inert_json_text(api, ticket):
    body = '<script>alert("x")</script><img src=x onerror="alert(1)"> & done'
    response = api.post(messages_url(ticket), {"kind": "note", "body": body}, format="json")
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["body"] == body
    assert Message.objects.get(pk=response.json()["id"]).body == body
    listed = api.get(messages_url(ticket))
    assert listed["Content-Type"] == "application/json"
    assert listed.json()["results"][-1]["body"] == body


# ---------------------------------------------------------------------- filters, search


def ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.json()
    return {t["id"] for t in response.json()["results"]}


def test_it_filters_tickets(api, workspace, agent):
    email = make_ticket(workspace, subject="Parcel late", channel="email")
    chat = make_ticket(workspace, subject="Size guide", channel="chat", email="d@customer.test")
    web = make_ticket(workspace, subject="Refund please", channel="web", email="e@customer.test")
    ticket_assign(ticket=chat, assignee=agent, actor=Actor.system("test"))
    ticket_set_type(ticket=web, ticket_type="refund", actor=Actor.system("test"))
    ticket_close(ticket=email, actor=Actor.system("test"))

    assert ids(api.get(TICKETS, {"channel": "chat"})) == {chat.pk}
    assert ids(api.get(TICKETS, {"status": "closed"})) == {email.pk}
    assert ids(api.get(TICKETS, {"ticket_type": "refund"})) == {web.pk}
    assert ids(api.get(TICKETS, {"assignee": agent.pk})) == {chat.pk}
    assert ids(api.get(TICKETS, {"assignee": "none"})) == {email.pk, web.pk}
    assert ids(api.get(TICKETS, {"status": "new", "channel": "web"})) == {web.pk}

    cutoff = timezone.now()
    ticket_assign(ticket=web, assignee=agent, actor=Actor.system("test"))
    assert ids(api.get(TICKETS, {"updated_after": cutoff.isoformat()})) == {web.pk}

    for bad in ({"status": "lost"}, {"assignee": "bob"}, {"updated_after": "yesterday"}, {"workspace": "x"}):
        response = api.get(TICKETS, bad)
        assert response.status_code == 400
        assert set(response.json()) == set(bad)


def test_it_searches_subjects_and_messages(api, workspace, agent):
    zipper = make_ticket(workspace, subject="Broken zipper", body="It broke.")
    parcel = make_ticket(workspace, subject="Where is it", body="My parcel never came", email="d@customer.test")
    note = make_ticket(workspace, subject="Hello", body="Question", email="e@customer.test")
    ticket_add_note(ticket=note, body="Customer mentioned a parcel too", actor=Actor.for_user(agent))

    assert ids(api.get(TICKETS, {"q": "zipper"})) == {zipper.pk}
    assert ids(api.get(TICKETS, {"q": "parcel"})) == {parcel.pk, note.pk}
    assert ids(api.get(TICKETS, {"q": "parcel -customer"})) == {parcel.pk}
    assert ids(api.get(TICKETS, {"q": '"never came"'})) == {parcel.pk}
    assert ids(api.get(TICKETS, {"q": "nothing-like-this"})) == set()
    # Web-search syntax never raises, whatever is typed.
    assert ids(api.get(TICKETS, {"q": "& | ! ( :*"})) == set()


def test_it_paginates_with_a_cursor(api, workspace):
    start = timezone.now() - timedelta(days=1)
    tickets = [
        make_ticket(workspace, subject=f"T{i}", email=f"c{i}@customer.test", created_at=start + timedelta(minutes=i))
        for i in range(5)
    ]
    # Two tickets on the same instant: the id breaks the tie.
    tickets.append(make_ticket(workspace, subject="T5", email="c5@customer.test", created_at=start))
    expected = [t.pk for t in sorted(tickets, key=lambda t: (t.last_message_at, t.pk), reverse=True)]

    seen: list[int] = []
    response = api.get(TICKETS, {"page_size": 2})
    pages = 0
    while True:
        data = response.json()
        assert len(data["results"]) <= 2
        seen.extend(t["id"] for t in data["results"])
        pages += 1
        if not data["next"]:
            break
        response = api.get(data["next"])
    assert seen == expected
    assert pages == 3
    assert api.get(TICKETS, {"cursor": "garbage"}).status_code == 404


# ------------------------------------------------------------------------ schema, cost


def test_it_serves_the_openapi_schema(api):
    response = api.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) >= {
        "/api/v1/tickets/",
        "/api/v1/tickets/{ticket_id}/",
        "/api/v1/tickets/{ticket_id}/messages/",
    }
    assert set(schema["paths"]["/api/v1/tickets/"]) >= {"get", "post"}
    assert "workspaceToken" in schema["components"]["securitySchemes"]


def _seed(workspace: Workspace, agent: Any, start: int, count: int) -> None:
    for i in range(start, start + count):
        ticket = make_ticket(workspace, subject=f"Ticket {i}", email=f"q{i}@customer.test")
        if i % 2:
            ticket_assign(ticket=ticket, assignee=agent, actor=Actor.system("test"))


def test_it_lists_tickets_in_a_constant_number_of_queries(api, workspace, agent, django_assert_num_queries):
    _seed(workspace, agent, 0, 3)
    with CaptureQueriesContext(connection) as small:
        response = api.get(TICKETS)
    assert len(response.json()["results"]) == 3

    _seed(workspace, agent, 3, 27)
    with django_assert_num_queries(len(small.captured_queries)):
        response = api.get(TICKETS)
    assert len(response.json()["results"]) == 30
    assert sum(1 for t in response.json()["results"] if t["assignee_email"] == agent.email) == 15

"""The widget's long-poll wakes on a committed change to its own thread (LISTEN/NOTIFY), not a timer."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.services import Actor
from helpdesk.channels.wakeups import WAKEUPS, session_key, ticket_key
from helpdesk.models import Ticket
from helpdesk.models.channels import ChatSession
from helpdesk.services import ticket_add_note, ticket_create, ticket_reply, ticket_resolve, ticket_set_type
from helpdesk.tests.channels_support import api, poll, post, start_visitor

pytestmark = pytest.mark.django_db(transaction=True)


def listening(timeout: float = 10.0) -> None:
    WAKEUPS.start()
    deadline = time.monotonic() + timeout
    while not WAKEUPS.listening():
        assert time.monotonic() < deadline, "the wake-up listener did not connect"
        time.sleep(0.05)


def new_ticket(workspace, email, channel="chat") -> Ticket:
    return ticket_create(
        workspace=workspace, channel=channel, customer_email=email, customer_name="", subject="Hi", body="Hi"
    )


def chat_ticket(client, workspace) -> tuple[str, Ticket]:
    token = start_visitor(client, workspace)
    post(client, workspace, token, "Where is my order?")
    return token, Ticket.objects.get(channel="chat")


def test_it_wakes_a_long_poll_when_a_reply_commits_without_rereading_meanwhile(client, workspace, agent):
    listening()
    token, ticket = chat_ticket(client, workspace)
    first = poll(client, workspace, token).json()
    result: dict[str, Any] = {}

    def long_poll() -> None:
        started = time.monotonic()
        with CaptureQueriesContext(connection) as queries:
            response = Client().get(
                api(workspace, "messages") + f"?after={first['messages'][-1]['id']}&v={first['version']}&wait=20",
                HTTP_X_OASIS_SESSION=token,
            )
        result["status"] = response.status_code
        result["body"] = response.json() if response.status_code == 200 else None
        result["elapsed"] = time.monotonic() - started
        result["probes"] = sum("token_hash" in q["sql"] for q in queries.captured_queries)

    waiter = threading.Thread(target=long_poll)
    waiter.start()
    time.sleep(1.5)
    # A note is not the customer's business: it must not end the wait.
    ticket_add_note(ticket=ticket, body="Internal", actor=Actor.for_user(agent))
    time.sleep(0.5)
    assert waiter.is_alive()
    reply = ticket_reply(ticket=ticket, body="It ships tomorrow.", actor=Actor.for_user(agent))
    waiter.join(timeout=10)
    assert result["status"] == 200
    assert [m["id"] for m in result["body"]["messages"]] == [reply.pk]
    assert result["elapsed"] < 5
    # Read on arrival, once more when watching, once when woken: not every 0.2 s for 2 s.
    assert result["probes"] <= 4, result["probes"]


def test_it_wakes_only_the_thread_that_changed(workspace, agent):
    listening()
    chat = new_ticket(workspace, "a@customer.test")
    other = new_ticket(workspace, "b@customer.test")
    email = new_ticket(workspace, "a@customer.test", channel="email")
    with WAKEUPS.watch(ticket_key(chat.pk)) as changed, WAKEUPS.watch(ticket_key(email.pk)) as email_changed:
        ticket_reply(ticket=other, body="Not yours", actor=Actor.for_user(agent))
        ticket_reply(ticket=email, body="Email tickets have no long-poll", actor=Actor.for_user(agent))
        assert not changed.wait(1.0)
        assert not email_changed.is_set()
        ticket_reply(ticket=chat, body="Yours", actor=Actor.for_user(agent))
        assert changed.wait(5.0)


def test_it_neither_wakes_nor_moves_the_version_for_a_change_the_customer_cannot_see(client, workspace, agent):
    listening()
    token, ticket = chat_ticket(client, workspace)
    version = poll(client, workspace, token).json()["version"]
    with WAKEUPS.watch(ticket_key(ticket.pk)) as changed:
        # The Agent labels the ticket: the customer's thread looks the same.
        ticket_set_type(ticket=ticket, ticket_type="order_status", actor=Actor.system("triage"))
        assert not changed.wait(1.0)
        assert poll_since(client, workspace, token, version).status_code == 204
        ticket_resolve(ticket=ticket, actor=Actor.for_user(agent))  # the status is shown
        assert changed.wait(5.0)
    assert poll_since(client, workspace, token, version).json()["state"]["status"] == "resolved"


def poll_since(client, workspace, token, version):
    return client.get(api(workspace, "messages") + f"?after=0&v={version}", HTTP_X_OASIS_SESSION=token)


def test_it_wakes_a_session_when_its_first_message_makes_the_ticket(client, workspace):
    listening()
    token = start_visitor(client, workspace)
    session = ChatSession.objects.get()
    with WAKEUPS.watch(session_key(session.pk)) as changed:
        post(client, workspace, token, "Hello?")
        assert changed.wait(5.0)


def test_it_reconnects_and_wakes_everyone_when_the_listener_connection_dies(workspace, agent):
    listening()
    chat = new_ticket(workspace, "a@customer.test")
    with WAKEUPS.watch(ticket_key(chat.pk)) as changed:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                ["oasis-thread-wakeups"],
            )
            assert cursor.fetchone() is not None
        # Whatever committed while nobody listened is unknown: every waiter re-reads.
        assert changed.wait(10.0)
        changed.clear()
        listening()
        ticket_reply(ticket=chat, body="Still delivered", actor=Actor.for_user(agent))
        assert changed.wait(5.0)

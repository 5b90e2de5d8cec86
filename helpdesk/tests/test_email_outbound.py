"""Outbound replies over a real SMTP conversation (aiosmtpd on 127.0.0.1), and the round trip."""

from __future__ import annotations

import asyncio
import socket
from email import policy
from email.parser import BytesParser
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

from audit.services import Actor
from helpdesk import services, tasks
from helpdesk.channels.email_in import ingest_email
from helpdesk.models import Message, Ticket, TicketStatus
from helpdesk.tests.email_factory import raw_email


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self):
        return [BytesParser(policy=policy.default).parsebytes(e.content) for e in self.envelopes]


class EphemeralController(Controller):
    # Controller connects to self.port to check the server is up; with port 0 it must first
    # learn the port the kernel picked.
    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)  # create_server() returns a Server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = EphemeralController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield inbox
    finally:
        controller.stop()


def reply(ticket: Ticket, agent: Any, body: str, capture: Any) -> Message:
    with capture(execute=True):
        return services.ticket_reply(ticket=ticket, body=body, actor=Actor.for_user(agent))


def test_it_emails_a_threaded_reply_to_the_customer(smtp, ticket, agent, django_capture_on_commit_callbacks):
    message = reply(ticket, agent, "Your order ships today.", django_capture_on_commit_callbacks)

    assert len(smtp.envelopes) == 1
    envelope = smtp.envelopes[0]
    assert envelope.rcpt_tos == ["carla@customer.test"]
    assert envelope.mail_from == "acme@oasis.localhost"
    sent = smtp.messages()[0]
    assert sent["To"] == "carla@customer.test"
    assert sent["From"].addresses[0].addr_spec == "acme@oasis.localhost"
    assert sent["Reply-To"] == "acme@oasis.localhost"
    assert sent["Subject"] == "Re: Where is my order? [#1]"
    assert sent["In-Reply-To"] == "<first@customer.test>"
    assert sent["References"] == "<first@customer.test>"
    assert sent.get_body(("plain",)).get_content().strip() == "Your order ships today."
    message.refresh_from_db()
    assert message.email_message_id == sent["Message-ID"]
    assert message.email_message_id.endswith("@oasis.localhost>")
    assert message.email_sent_at is not None


def test_it_chains_references_over_several_replies(smtp, ticket, agent, django_capture_on_commit_callbacks):
    first = reply(ticket, agent, "Looking into it.", django_capture_on_commit_callbacks)
    second = reply(ticket, agent, "Found it: it ships today.", django_capture_on_commit_callbacks)
    sent = smtp.messages()
    assert len(sent) == 2
    assert sent[1]["In-Reply-To"] == first.email_message_id
    assert sent[1]["References"].split() == ["<first@customer.test>", first.email_message_id]
    assert sent[1]["Message-ID"] == second.email_message_id


def test_it_never_sends_a_reply_twice_when_retried(smtp, ticket, agent, django_capture_on_commit_callbacks):
    message = reply(ticket, agent, "On its way.", django_capture_on_commit_callbacks)
    assert len(smtp.envelopes) == 1
    sent_at = Message.objects.get(pk=message.pk).email_sent_at

    assert tasks.send_reply_email(message.pk) is False
    assert len(smtp.envelopes) == 1
    assert Message.objects.get(pk=message.pk).email_sent_at == sent_at


def test_it_sends_on_the_retry_after_a_failed_attempt(
    smtp, settings, ticket, agent, django_capture_on_commit_callbacks
):
    working_port = settings.EMAIL_PORT
    settings.EMAIL_PORT = closed_port()
    # Tests run django-q2 synchronously, so the refused connection surfaces here; a worker
    # would record the failure and retry the task later.
    with pytest.raises(ConnectionRefusedError):
        reply(ticket, agent, "Refund issued.", django_capture_on_commit_callbacks)
    message = Message.objects.get(ticket=ticket, kind="reply")
    assert message.email_sent_at is None
    assert smtp.envelopes == []

    settings.EMAIL_PORT = working_port
    assert tasks.send_reply_email(message.pk) is True
    assert tasks.send_reply_email(message.pk) is False
    assert len(smtp.envelopes) == 1
    assert Message.objects.get(pk=message.pk).email_sent_at is not None


def test_it_does_not_email_replies_on_chat_tickets(smtp, workspace, agent, django_capture_on_commit_callbacks):
    chat = services.ticket_create(
        workspace=workspace, channel="chat", customer_email="c@chat.test", subject="Hi", body="hello"
    )
    reply(chat, agent, "Hello back.", django_capture_on_commit_callbacks)
    assert smtp.envelopes == []


def test_it_files_the_customers_answer_to_our_reply_on_the_same_ticket(
    smtp, client, ticket, agent, django_capture_on_commit_callbacks
):
    reply(ticket, agent, "Can you send a photo of the label?", django_capture_on_commit_callbacks)
    ours = smtp.messages()[0]
    answer = raw_email(
        sender="Carla Customer <carla@customer.test>",
        subject=str(ours["Subject"]),
        body=f"Here it is: label 42.\n\nOn Tue, 3 Jun 2025, Acme wrote:\n> {ours.get_body(('plain',)).get_content()}",
        message_id="<answer@customer.test>",
        in_reply_to=ours["Message-ID"],
        references=f"{ours['References']} {ours['Message-ID']}",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/inbound/email/{ticket.workspace.slug}/",
            data=answer,
            content_type="message/rfc822",
            headers={"X-Oasis-Inbound-Secret": ticket.workspace.inbound_secret},
        )
    assert response.status_code == 201
    assert (response.json()["ticket"], response.json()["created"]) == (ticket.pk, False)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN  # pending (waiting on customer) -> back to the team
    bodies = list(ticket.messages.values_list("kind", "body"))
    assert bodies[-1] == ("customer", "Here it is: label 42.")
    assert len(bodies) == 3


def test_it_threads_by_our_message_id_even_if_the_subject_changed(
    smtp, ticket, agent, django_capture_on_commit_callbacks
):
    message = reply(ticket, agent, "Anything else?", django_capture_on_commit_callbacks)
    answer = raw_email(
        sender="carla@customer.test", subject="new subject", message_id="<a2@x>", in_reply_to=message.email_message_id
    )
    assert ingest_email(workspace=ticket.workspace, raw=answer).ticket.pk == ticket.pk


def test_it_keeps_the_reply_subject_on_one_line_with_one_token(
    smtp, workspace, agent, django_capture_on_commit_callbacks
):
    ticket = services.ticket_create(
        workspace=workspace,
        channel="email",
        customer_email="eve@buyer.test",
        subject="Re: [#1] broken\r\nBcc: victim@elsewhere.test",
        body="hello",
    )
    reply(ticket, agent, "Sorry to hear that.", django_capture_on_commit_callbacks)
    sent = smtp.messages()[0]
    assert sent["Subject"] == "Re: [#1] broken Bcc: victim@elsewhere.test"
    assert sent["Bcc"] is None
    assert smtp.envelopes[0].rcpt_tos == ["eve@buyer.test"]


def test_an_ai_answer_carries_the_did_this_solve_it_links(ticket):
    from helpdesk.channels.email_out import build_reply_email
    from helpdesk.services import ticket_reply

    reply = ticket_reply(ticket=ticket, body="It ships today.", actor=Actor.ai("local"), author_kind="ai")
    body = build_reply_email(reply).body
    assert "Did this answer solve your question?" in body
    assert "/solved/yes/" in body and "/solved/no/" in body

"""Inbound email: parsing untrusted messages, threading them onto tickets, and the webhook."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

import audit.services as audit_services
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk import services
from helpdesk.channels.email_in import EmailRejected, ingest_email, parse_email, strip_quoted
from helpdesk.models import Customer, Message, Ticket, TicketStatus
from helpdesk.tests.email_factory import raw_email

URL = "/inbound/email/acme/"


def post_raw(client, workspace, raw: bytes, *, content_type="message/rfc822", secret=None, url=URL):
    headers = {"X-Oasis-Inbound-Secret": workspace.inbound_secret if secret is None else secret}
    return client.post(url, data=raw, content_type=content_type, headers=headers)


def row_counts() -> dict[str, int]:
    return {
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "customers": Customer.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


# ------------------------------------------------------------------------------ parsing


def test_it_parses_sender_subject_and_threading_headers():
    parsed = parse_email(
        raw_email(in_reply_to="<a@x.test>", references="<root@x.test> <a@x.test>", subject="Late  parcel\t again")
    )
    assert parsed.from_email == "dana@buyer.test"
    assert parsed.from_name == "Dana Buyer"
    assert parsed.subject == "Late parcel again"
    assert parsed.message_id == "<m1@buyer.test>"
    assert parsed.in_reply_to == ("<a@x.test>",)
    assert parsed.references == ("<root@x.test>", "<a@x.test>")
    assert parsed.body == "Hello, order A2002 has not arrived. Can you help?"


def test_it_prefers_the_plain_text_part():
    parsed = parse_email(raw_email(body="plain words", html="<p>html words</p>"))
    assert parsed.body == "plain words"


def test_it_turns_html_into_inert_text():
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<p onclick=\"alert('x')\">Where is <b>my</b> order &amp; refund?</p>"
        "<script>alert(document.cookie)</script><a href='javascript:evil()'>click</a>"
        "<div>Thanks,<br>Dana</div></body></html>"
    )
    body = parse_email(raw_email(body=None, html=html)).body
    assert "Where is my order & refund?" in body
    assert "Thanks,\nDana" in body
    assert "click" in body
    for forbidden in ("<", "script", "alert", "color:red", "javascript", "onclick"):
        assert forbidden not in body


def test_it_strips_quoted_reply_history():
    text = (
        "Still nothing arrived.\n\nOn Tue, 3 Jun 2025 at 10:02, Acme Support <acme@oasis.localhost>\n"
        "wrote:\n> We shipped it yesterday.\n> Tracking 1Z999"
    )
    assert strip_quoted(text) == "Still nothing arrived."
    assert strip_quoted("Thanks!\n> quoted line\nMore new text") == "Thanks!\nMore new text"
    assert strip_quoted("Hi\n-----Original Message-----\nFrom: us") == "Hi"


def test_it_keeps_the_text_when_only_quotes_remain():
    assert strip_quoted("> all quoted\n> here") == "> all quoted\n> here"


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (raw_email(sender=""), "no_sender", "no From address"),
        (raw_email(sender="not an address"), "no_sender", "not valid"),
        (b"\xff\xfe\x00\x01 garbage that is no email", "no_sender", "no From address"),
        (b"", "empty", "empty"),
        (raw_email(body="   \n  "), "empty", "no text body"),
    ],
)
def test_it_rejects_malformed_messages_with_a_reason(raw, code, words):
    with pytest.raises(EmailRejected) as caught:
        parse_email(raw)
    assert caught.value.code == code
    assert words in str(caught.value)


def test_it_rejects_a_message_with_only_an_attachment():
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"] = "dana@buyer.test"
    msg["Subject"] = "scan"
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="scan.pdf")
    with pytest.raises(EmailRejected, match="no text body"):
        parse_email(msg.as_bytes())


def test_it_rejects_a_message_over_the_size_limit(settings):
    settings.OASIS_MAX_EMAIL_BYTES = 1000
    with pytest.raises(EmailRejected) as caught:
        parse_email(raw_email(body="x" * 2000))
    assert caught.value.code == "too_large"


# ---------------------------------------------------------------------------- ingesting


def test_it_opens_an_email_ticket_with_audit_rows(workspace):
    result = ingest_email(workspace=workspace, raw=raw_email())
    assert (result.created, result.duplicate, result.outcome) == (True, False, "created")
    ticket = result.ticket
    assert ticket.channel == "email"
    assert ticket.subject == "My parcel is late"
    assert ticket.customer.email == "dana@buyer.test"
    assert ticket.customer.name == "Dana Buyer"
    assert result.message.email_message_id == "<m1@buyer.test>"
    kinds = list(AuditEvent.objects.filter(workspace=workspace).values_list("kind", flat=True))
    assert {"customer.created", "ticket.created", "message.received"} <= set(kinds)
    assert AuditEvent.objects.filter(ticket=ticket, kind="ticket.created").count() == 1


def test_it_appends_a_reply_found_through_in_reply_to(ticket):
    services.ticket_resolve(ticket=ticket, actor=Actor.system("test"))
    raw = raw_email(
        sender="carla@customer.test",
        subject="Re: Where is my order?",
        body="It came, but damaged.\n\nOn Mon, 2 Jun 2025, Acme wrote:\n> Hi, my order A1001",
        message_id="<m2@customer.test>",
        in_reply_to="<first@customer.test>",
    )
    result = ingest_email(workspace=ticket.workspace, raw=raw)
    assert (result.ticket.pk, result.created, result.outcome) == (ticket.pk, False, "appended")
    assert result.message.body == "It came, but damaged."
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert Ticket.objects.count() == 1
    assert AuditEvent.objects.filter(ticket=ticket, kind="message.received").count() == 2


def test_it_threads_through_references_when_in_reply_to_is_missing(ticket):
    raw = raw_email(
        sender="carla@customer.test", message_id="<m3@x>", references="<zzz@elsewhere> <first@customer.test>"
    )
    assert ingest_email(workspace=ticket.workspace, raw=raw).ticket.pk == ticket.pk


def test_it_threads_a_subject_token_only_for_the_tickets_customer(ticket):
    own = raw_email(sender="carla@customer.test", subject="Re: [#1] order", message_id="<t1@x>")
    assert ingest_email(workspace=ticket.workspace, raw=own).ticket.pk == ticket.pk
    stranger = raw_email(sender="mallory@evil.test", subject="Re: [#1] refund me", message_id="<t2@x>")
    result = ingest_email(workspace=ticket.workspace, raw=stranger)
    assert result.created
    assert result.ticket.pk != ticket.pk


def test_it_gives_a_stranger_replying_on_a_thread_a_ticket_of_their_own(ticket):
    # Knowing a thread's Message-ID must not let someone write into another customer's ticket.
    raw = raw_email(sender="mallory@evil.test", in_reply_to="<first@customer.test>", message_id="<m1@x>")
    result = ingest_email(workspace=ticket.workspace, raw=raw)
    assert result.created
    assert result.ticket.pk != ticket.pk
    assert result.ticket.customer.email == "mallory@evil.test"
    assert ticket.messages.count() == 1


def test_it_never_threads_onto_another_workspaces_ticket(ticket, other_workspace):
    raw = raw_email(sender="carla@customer.test", in_reply_to="<first@customer.test>", subject="[#1] hi")
    result = ingest_email(workspace=other_workspace, raw=raw)
    assert result.created
    assert result.ticket.workspace == other_workspace


def test_it_files_the_same_message_id_once_per_workspace(workspace, other_workspace):
    first = ingest_email(workspace=workspace, raw=raw_email())
    before = row_counts()
    again = ingest_email(workspace=workspace, raw=raw_email())
    assert (again.duplicate, again.outcome) == (True, "duplicate")
    assert (again.ticket.pk, again.message.pk) == (first.ticket.pk, first.message.pk)
    assert row_counts() == before
    assert ingest_email(workspace=other_workspace, raw=raw_email()).created


def test_it_refuses_mail_from_its_own_address(workspace):
    with pytest.raises(EmailRejected) as caught:
        ingest_email(workspace=workspace, raw=raw_email(sender=workspace.reply_address))
    assert caught.value.code == "loop"


def test_it_turns_service_validation_into_a_rejection(workspace, settings):
    settings.OASIS_MAX_MESSAGE_CHARS = 10
    before = row_counts()
    with pytest.raises(EmailRejected, match="longer than 10"):
        ingest_email(workspace=workspace, raw=raw_email())
    assert row_counts() == before


def test_it_leaves_no_partial_rows_when_a_step_fails(workspace, monkeypatch):
    real_audit_record = audit_services.audit_record

    def failing_audit_record(**kwargs):
        # Fail at the last write of ticket_create: customer, ticket and message exist by now.
        if kwargs["kind"] == "message.received":
            raise RuntimeError("disk full")
        return real_audit_record(**kwargs)

    monkeypatch.setattr(services, "audit_record", failing_audit_record)
    before = row_counts()
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_email(workspace=workspace, raw=raw_email())
    assert row_counts() == before


# ------------------------------------------------------------------------------ webhook


def test_it_accepts_a_raw_message_over_the_webhook(workspace):
    client = Client(enforce_csrf_checks=True)
    response = post_raw(client, workspace, raw_email())
    assert response.status_code == 201
    payload = response.json()
    ticket = Ticket.objects.get(pk=payload["ticket"])
    assert payload == {
        "ticket": ticket.pk,
        "number": ticket.number,
        "message": ticket.messages.get().pk,
        "created": True,
        "duplicate": False,
    }
    assert ticket.workspace == workspace


def test_it_accepts_text_plain_and_reports_appends(client, ticket):
    raw = raw_email(sender="carla@customer.test", in_reply_to="<first@customer.test>", message_id="<r@x>")
    response = post_raw(client, ticket.workspace, raw, content_type="text/plain")
    assert response.status_code == 201
    assert (response.json()["ticket"], response.json()["created"]) == (ticket.pk, False)


def test_it_accepts_a_multipart_file_or_field_named_email(client, workspace):
    headers = {"X-Oasis-Inbound-Secret": workspace.inbound_secret}
    upload = SimpleUploadedFile("message.eml", raw_email(message_id="<file@x>"), content_type="message/rfc822")
    response = client.post(URL, data={"email": upload}, headers=headers)
    assert response.status_code == 201
    field = raw_email(message_id="<field@x>").decode()
    response = client.post(URL, data={"email": field, "to": "acme@oasis.localhost"}, headers=headers)
    assert response.status_code == 201
    assert Ticket.objects.filter(workspace=workspace).count() == 2


def test_it_answers_200_for_a_duplicate_delivery(client, workspace):
    first = post_raw(client, workspace, raw_email()).json()
    response = post_raw(client, workspace, raw_email())
    assert response.status_code == 200
    assert response.json() == {**first, "created": False, "duplicate": True}
    assert Message.objects.count() == 1


def test_it_stores_an_html_body_as_inert_text(client, workspace):
    html = "<p>Hi <img src=x onerror=alert(1)></p><script>fetch('/steal')</script><p>refund please</p>"
    response = post_raw(client, workspace, raw_email(body=None, html=html))
    assert response.status_code == 201
    body = Message.objects.get(pk=response.json()["message"]).body
    assert body == "Hi\n\nrefund please"
    assert "<script" not in body
    assert "steal" not in body


@pytest.mark.parametrize(
    ("slug", "secret", "status"),
    [("nope", None, 404), ("acme", "wrong", 403), ("acme", "", 403)],
)
def test_it_refuses_unknown_workspaces_and_bad_secrets(client, workspace, slug, secret, status):
    before = row_counts()
    response = post_raw(client, workspace, raw_email(), secret=secret, url=f"/inbound/email/{slug}/")
    assert response.status_code == status
    assert "error" in response.json()
    assert workspace.inbound_secret not in response.content.decode()
    assert row_counts() == before


def test_it_refuses_a_secret_from_another_workspace(client, workspace, other_workspace):
    response = post_raw(client, workspace, raw_email(), secret=other_workspace.inbound_secret)
    assert response.status_code == 403


def test_it_refuses_when_the_workspace_has_no_secret(client, workspace):
    workspace.inbound_secret = ""
    workspace.save(update_fields=["inbound_secret"])
    assert post_raw(client, workspace, raw_email(), secret="").status_code == 403


def test_it_only_accepts_post(client, workspace):
    response = client.get(URL, headers={"X-Oasis-Inbound-Secret": workspace.inbound_secret})
    assert response.status_code == 405


def test_it_answers_413_for_an_oversized_message(client, workspace, settings):
    settings.OASIS_MAX_EMAIL_BYTES = 2000
    before = row_counts()
    # Just over the limit: caught after reading; far over: refused from Content-Length alone.
    for size in (3000, 100_000):
        response = post_raw(client, workspace, raw_email(body="y" * size))
        assert response.status_code == 413
        assert "limit" in response.json()["error"]
    assert row_counts() == before


def test_it_answers_400_for_a_malformed_message(client, workspace):
    before = row_counts()
    response = post_raw(client, workspace, b"this is not an email at all")
    assert response.status_code == 400
    assert "From" in response.json()["error"]
    response = post_raw(client, workspace, raw_email(), content_type="application/json")
    assert response.status_code == 400
    assert "Content-Type" in json.loads(response.content)["error"]
    response = client.post(URL, data={"other": "x"}, headers={"X-Oasis-Inbound-Secret": workspace.inbound_secret})
    assert response.status_code == 400
    assert row_counts() == before


@pytest.mark.django_db(transaction=True)
def test_it_files_a_message_once_when_two_deliveries_race(workspace):
    # Two webhook deliveries of one message at the same moment, each in its own connection
    # and transaction: the advisory lock makes the second find the first's row.
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(ingest_email(workspace=workspace, raw=raw_email()).outcome)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["created", "duplicate"]
    assert Message.objects.filter(email_message_id="<m1@buyer.test>").count() == 1
    assert Ticket.objects.count() == 1

"""Inbound mail carrying NUL, broken Unicode or undecodable encoded words is filed, cleaned."""

from __future__ import annotations

import pytest

from helpdesk.channels.email_in import parse_email
from helpdesk.models import Message, Ticket

URL = "/inbound/email/acme/"


def hostile(
    *, subject: bytes, message_id: bytes = b"<m1@buyer.test>", in_reply_to: bytes = b"", body: bytes = b""
) -> bytes:
    headers = [
        b"From: Dana\x00 Buyer <dana@buyer.test>",
        b"To: acme@oasis.localhost",
        b"Subject: " + subject,
        b"Message-ID: " + message_id,
    ]
    if in_reply_to:
        headers.append(b"In-Reply-To: " + in_reply_to)
    return b"\r\n".join([*headers, b"Content-Type: text/plain; charset=utf-8", b"", body or b"Where is my parcel?"])


def post(client, workspace, raw: bytes, content_type: str = "message/rfc822"):
    return client.post(
        URL, data=raw, content_type=content_type, headers={"X-Oasis-Inbound-Secret": workspace.inbound_secret}
    )


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (b"Late\x00 parcel", "Late parcel"),
        (b"=?utf-8?q?Late=00_parcel?=", "Late parcel"),
        (b"=?utf-7?q?+2AA-Late parcel?=", "Late parcel"),  # decodes to a lone surrogate
        (b"=?unicode-escape?q?=5Cud800?= Late parcel", "Late parcel"),
        (b"=?x-no-such-charset?q?Late_parcel?=", "Late parcel"),
        (b"Caf\xe9 parcel", "Caf\ufffd parcel"),
    ],
)
def test_it_parses_hostile_subjects_into_clean_text(subject, expected):
    parsed = parse_email(hostile(subject=subject))
    assert parsed.subject == expected
    assert parsed.from_name == "Dana Buyer"


def test_it_strips_nul_from_ids_and_the_body():
    parsed = parse_email(
        hostile(subject=b"x", message_id=b"<a\x00b@buyer.test>", in_reply_to=b"<c\x00d@oasis>", body=b"Hi\x00 there")
    )
    assert (parsed.message_id, parsed.in_reply_to, parsed.body) == ("<ab@buyer.test>", ("<cd@oasis>",), "Hi there")


def test_it_reads_a_body_in_an_unknown_charset():
    raw = hostile(subject=b"x", body=b"Gr\xc3\xbc\xc3\x9fe").replace(b"charset=utf-8", b"charset=x-klingon")
    assert parse_email(raw).body == "Grüße"


@pytest.mark.parametrize(
    "raw",
    [
        hostile(subject=b"=?utf-8?q?Late=00?=", message_id=b"<a\x00b@buyer.test>", in_reply_to=b"<c\x00d@oasis>"),
        hostile(subject=b"=?utf-7?q?+2AA-Late?="),
    ],
)
def test_it_files_hostile_mail_over_the_webhook(client, workspace, raw):
    response = post(client, workspace, raw)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(pk=response.json()["ticket"])
    assert ticket.subject == "Late"
    assert Message.objects.get(ticket=ticket).body == "Where is my parcel?"


def test_it_files_a_form_delivered_mail_with_nul_in_it(client, workspace):
    raw = hostile(subject=b"Late\x00 parcel").decode("latin-1")
    response = client.post(URL, {"email": raw}, headers={"X-Oasis-Inbound-Secret": workspace.inbound_secret})
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().subject == "Late parcel"

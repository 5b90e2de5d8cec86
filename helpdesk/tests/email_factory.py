"""Build raw RFC 822 messages for the inbound email tests."""

from __future__ import annotations

from email.message import EmailMessage


def raw_email(
    *,
    sender: str = "Dana Buyer <dana@buyer.test>",
    to: str = "acme@oasis.localhost",
    subject: str = "My parcel is late",
    body: str | None = "Hello, order A2002 has not arrived. Can you help?",
    html: str | None = None,
    message_id: str | None = "<m1@buyer.test>",
    in_reply_to: str | None = None,
    references: str | None = None,
) -> bytes:
    msg = EmailMessage()
    if sender:
        msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    if body is not None:
        msg.set_content(body)
        if html is not None:
            msg.add_alternative(html, subtype="html")
    elif html is not None:
        msg.set_content(html, subtype="html")
    return msg.as_bytes()

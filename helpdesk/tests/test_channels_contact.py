"""The help center's contact form, deflection, and the customer portal's signed links."""

from __future__ import annotations

import re

import pytest
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile

from ai.tests.agent_support import helpcenter  # noqa: F401 (fixture)
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.channels.identity import PORTAL_SALT, portal_token
from helpdesk.models import Message, Ticket, TicketStatus
from helpdesk.models.channels import Attachment
from helpdesk.services import ticket_add_note, ticket_create, ticket_reply

pytestmark = pytest.mark.django_db

FORM = {"name": "Carla Customer", "email": "carla@customer.test", "subject": "Broken zip", "message": "The zip broke."}


def contact(client, workspace, **extra):
    return client.post(f"/help/{workspace.slug}/contact/", {**FORM, **extra})


def portal_link(email_body):
    return re.search(r"https?://\S+(/portal/\S+/)", email_body).group(1)


def test_it_shows_the_contact_form_on_the_help_center(client, workspace):
    page = client.get(f"/help/{workspace.slug}/contact/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="attachments"' in html and "htmx.min.js" in html and "Acme Outfitters help center" in html


def test_it_creates_a_web_ticket_and_emails_a_working_portal_link(
    client, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = contact(client, workspace)
    assert response.status_code == 200 and b"#1" in response.content
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.subject, ticket.customer.email) == ("web", "Broken zip", "carla@customer.test")
    assert ticket.messages.get().body == "The zip broke."
    [email] = mail.outbox
    assert email.to == ["carla@customer.test"] and "#1" in email.subject

    page = client.get(portal_link(email.body))
    assert page.status_code == 200
    assert b"The zip broke." in page.content and b"Broken zip" in page.content


def test_it_accepts_up_to_three_small_allowed_files(client, workspace):
    files = [
        SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 tiny", content_type="application/pdf"),
        SimpleUploadedFile("photo.png", b"\x89PNG fake", content_type="image/png"),
    ]
    assert contact(client, workspace, attachments=files).status_code == 200
    assert sorted(Attachment.objects.values_list("filename", "size")) == [("photo.png", 9), ("receipt.pdf", 13)]
    assert AuditEvent.objects.filter(kind="attachments.added").count() == 1


@pytest.mark.parametrize(
    ("files", "error"),
    [
        (
            [SimpleUploadedFile("evil.exe", b"MZ", content_type="application/octet-stream")],
            b"only PDF, PNG, JPG and TXT",
        ),
        ([SimpleUploadedFile("fake.pdf", b"x", content_type="text/html")], b"only PDF, PNG, JPG and TXT"),
        (
            [SimpleUploadedFile("big.pdf", b"0" * (5 * 1024 * 1024 + 1), content_type="application/pdf")],
            b"larger than 5 MB",
        ),
        ([SimpleUploadedFile(f"f{i}.txt", b"hi", content_type="text/plain") for i in range(4)], b"At most 3 files"),
    ],
)
def test_it_refuses_attachments_beyond_the_limits(client, workspace, files, error):
    response = contact(client, workspace, attachments=files)
    assert response.status_code == 400 and error in response.content
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


def test_it_suggests_articles_as_the_customer_types_and_counts_deflections(client, workspace, helpcenter):  # noqa: F811
    partial = client.get(
        f"/help/{workspace.slug}/contact/suggest/", {"subject": "refund", "message": "how do I return an item"}
    )
    assert partial.status_code == 200
    html = partial.content.decode()
    assert "<html" not in html and "Returns and refunds" in html
    link = re.search(r'href="([^"]+/contact/deflect/[^"]+)"', html).group(1).replace("&amp;", "&")
    followed = client.get(link)
    assert followed.status_code == 302 and followed["Location"].endswith(f"/help/{workspace.slug}/returns-and-refunds/")
    event = AuditEvent.objects.get(kind="helpcenter.deflected")
    assert event.data == {"article": "returns-and-refunds", "query": "refund how do I return an item"}
    assert not Ticket.objects.exists()


def test_it_rate_limits_the_contact_form(client, workspace, settings):
    settings.OASIS_RATE_LIMITS = {"contact": {"ip": (1, 600)}}
    assert contact(client, workspace).status_code == 200
    refused = contact(client, workspace)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Ticket.objects.count() == 1


def test_it_renders_customer_text_inert(client, workspace):
    contact(client, workspace, subject="<script>alert(1)</script>", message="<img src=x onerror=alert(2)>")
    page = client.get(f"/portal/{portal_token(Ticket.objects.get().pk)}/")
    assert b"<script>alert(1)" not in page.content and b"&lt;img src=x" in page.content


# -------------------------------------------------------------------------- portal


def test_it_scopes_a_portal_token_to_one_ticket(client, workspace, ticket, agent):
    other = ticket_create(
        workspace=workspace, channel="web", customer_email="bob@customer.test", subject="Secret B", body="B's problem"
    )
    ticket_add_note(ticket=ticket, body="internal remark", actor=Actor.for_user(agent))
    page = client.get(f"/portal/{portal_token(ticket.pk)}/")
    assert page.status_code == 200
    assert b"A1001" in page.content and b"Secret B" not in page.content and b"internal remark" not in page.content
    # Tampered: swap the signed value for ticket B's id, keep A's signature.
    _value, stamp, mac = portal_token(ticket.pk).split(":")
    assert client.get(f"/portal/{other.pk}:{stamp}:{mac}/").status_code == 404
    assert client.get(f"/portal/{portal_token(ticket.pk)}x/").status_code == 404
    # A token signed for another purpose does not open the portal.
    assert client.get(f"/portal/{signing.TimestampSigner(salt='other').sign(str(ticket.pk))}/").status_code == 404
    assert PORTAL_SALT == "oasis.portal.ticket"


def test_it_expires_portal_tokens(client, ticket, monkeypatch):
    token = portal_token(ticket.pk)
    monkeypatch.setattr("helpdesk.channels.identity.PORTAL_MAX_AGE_S", -1)
    assert client.get(f"/portal/{token}/").status_code == 404


def test_it_lets_the_customer_reply_on_the_portal(client, workspace, ticket, agent):
    ticket_reply(ticket=ticket, body="It ships today.", actor=Actor.for_user(agent))
    token = portal_token(ticket.pk)
    response = client.post(f"/portal/{token}/", {"body": "Thanks, and can I change the address?"})
    assert response.status_code == 302
    last = Message.objects.filter(ticket=ticket).order_by("-pk")[0]
    assert (last.kind, last.body) == ("customer", "Thanks, and can I change the address?")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN


def test_it_confirms_email_feedback_links_only_on_post(client, workspace, ticket):
    ticket_reply(ticket=ticket, body="Your order ships tomorrow.", actor=Actor.ai("local"), author_kind="ai")
    token = portal_token(ticket.pk)
    page = client.get(f"/portal/{token}/solved/no/?source=email")
    assert page.status_code == 200 and b"No, I need a person" in page.content
    assert not AuditEvent.objects.filter(
        kind__in=["customer.solved", "customer.not_solved"]
    ).exists()  # a GET (a mail scanner) does nothing
    assert client.post(f"/portal/{token}/solved/no/", {"source": "email"}).status_code == 302
    event = AuditEvent.objects.get(ticket=ticket, kind="customer.not_solved")
    assert event.data["source"] == "email"
    ticket.refresh_from_db()
    assert ticket.ai_decision == "escalate" and ticket.status == TicketStatus.OPEN
    assert client.get(f"/portal/{token}/solved/maybe/").status_code == 404

"""Inbound e-mail identity: only the trusted relay's Authentication-Results header proves a sender."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.channels.email_auth import parse_header
from helpdesk.channels.email_in import ingest_email
from helpdesk.models import CustomerVerification, Ticket
from helpdesk.services import workspace_update
from helpdesk.services_identity import ticket_identity_verified
from helpdesk.tests.email_factory import raw_email

RELAY = "mx.acme.test"
SENDER = "Carla Customer <carla@customer.test>"


@pytest.fixture
def relay(workspace):
    return workspace_update(workspace=workspace, actor=Actor.system("test"), changes={"mail_relay_authserv_id": RELAY})


def received(*results: str, **email: str) -> bytes:
    """A message as it leaves the relay: `results` top first (the relay prepends its own)."""
    raw = raw_email(sender=SENDER, subject="Change my address", body="Move A1003 to 1 Evil Lane.", **email)
    headers = b"".join(f"Authentication-Results: {value}\n".encode() for value in results)
    return headers + raw


def ingest(workspace, raw: bytes) -> Ticket:
    return ingest_email(workspace=workspace, raw=raw).ticket


@pytest.mark.parametrize(
    "results",
    [
        (),  # no header: a From: line is all there is
        (f"{RELAY}; dmarc=fail (p=reject) header.from=customer.test",),
        (f"{RELAY}; dmarc=none; dkim=pass header.d=evil.test; spf=pass smtp.mailfrom=bounce@evil.test",),
        (f"{RELAY}; dmarc=pass header.from=evil.test",),
        (f"{RELAY}; dkim=pass header.d=customer.test; dmarc=fail header.from=customer.test",),
        (f"{RELAY}; none",),
        ("mx.evil.test; dmarc=pass header.from=customer.test; dkim=pass header.d=customer.test",),
        # The sender wrote a passing header with the trusted id; the relay's own, on top, failed.
        (f"{RELAY}; dmarc=fail header.from=customer.test", f"{RELAY}; dmarc=pass header.from=customer.test"),
    ],
    ids=["none", "dmarc-fail", "misaligned", "other-from", "dmarc-overrides", "relay-none", "untrusted", "below"],
)
def test_it_does_not_verify_a_sender_the_trusted_relay_did_not_authenticate(relay, results):
    ticket = ingest(relay, received(*results))
    assert ticket.customer.email == "carla@customer.test"
    assert not ticket_identity_verified(ticket)
    assert not CustomerVerification.objects.exists()
    assert not AuditEvent.objects.filter(kind="identity.verified").exists()


@pytest.mark.parametrize(
    ("results", "passed"),
    [
        ((f"{RELAY}; dmarc=pass (p=reject dis=none) header.from=customer.test",), "dmarc"),
        (
            (
                f"{RELAY.upper()} 1; dkim=pass (2048-bit key; unprotected) header.d=customer.test "
                'header.s="s1"; spf=softfail smtp.mailfrom=x@elsewhere.test',
            ),
            "dkim",
        ),
        ((f"{RELAY}; spf=pass (sender SPF authorized) smtp.mailfrom=bounces@customer.test",), "spf"),
        # A later internal hop's header on top, and the sender's forgery below: only the relay's counts.
        (
            (
                "mx2.internal.test; dmarc=fail",
                f"{RELAY}; dmarc=pass header.from=customer.test",
                f"{RELAY}; dmarc=fail header.from=customer.test",
            ),
            "dmarc",
        ),
    ],
    ids=["dmarc", "dkim-aligned", "spf-aligned", "topmost-trusted"],
)
def test_it_verifies_a_sender_the_trusted_relay_authenticated(relay, results, passed):
    ticket = ingest(relay, received(*results))
    proof = CustomerVerification.objects.get(ticket=ticket)
    assert (proof.customer.email, proof.method) == ("carla@customer.test", "email_auth")
    assert (proof.evidence["authserv_id"], proof.evidence["passed"]) == (RELAY, passed)
    assert ticket_identity_verified(ticket)
    event = AuditEvent.objects.get(ticket=ticket, kind="identity.verified")
    assert event.data["method"] == "email_auth" and event.data["evidence"]["passed"] == passed


def test_it_trusts_no_header_while_the_workspace_names_no_relay(workspace):
    ticket = ingest(workspace, received(f"{RELAY}; dmarc=pass header.from=customer.test"))
    assert not ticket_identity_verified(ticket)


def test_it_threads_a_forged_subject_token_only_through_the_message_id_chain_on_a_verified_ticket(relay):
    workspace = relay
    first = received(f"{RELAY}; dmarc=pass header.from=customer.test", message_id="<ok@customer.test>")
    ticket = ingest(workspace, first)
    assert ticket_identity_verified(ticket)
    # Anyone can type the ticket's number and the customer's address.
    forged = raw_email(sender=SENDER, subject=f"Re: [#{ticket.number}] refund all", message_id="<f1@evil.test>")
    other = ingest(workspace, forged)
    assert other.pk != ticket.pk and not ticket_identity_verified(other)
    # A real reply carries the thread's Message-ID, which only the customer's mailbox has.
    reply = raw_email(
        sender=SENDER, subject="Re: hi", message_id="<r1@customer.test>", in_reply_to="<ok@customer.test>"
    )
    assert ingest(workspace, reply).pk == ticket.pk


def test_it_reads_comments_quotes_and_versions_in_the_header():
    server, results = parse_header(
        'Mx.Acme.Test 1 (the relay); dkim/1 = pass (good (nested) sig) header.d = "customer.test" '
        'header.b=abc; spf=pass smtp.mailfrom="a;b"@customer.test; dmarc=pass header.from=customer.test'
    )
    assert server == "mx.acme.test"
    assert [(r.method, r.result) for r in results] == [("dkim", "pass"), ("spf", "pass"), ("dmarc", "pass")]
    assert results[0].props == {"header.d": "customer.test", "header.b": "abc"}
    assert parse_header("(only a comment)") == ("", ())

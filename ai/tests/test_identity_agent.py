"""The Agent acts on an order or account only for a customer verified for the ticket.

The attack this guards against: an anonymous contact-form post typed with a victim's address,
asking to move the victim's order to another address, was autosent and executed. Now the
tools wait, the draft is never autosent, a magic link goes to the address on file, and the
click (a POST) verifies the customer and runs the Agent once more, exactly once.
"""

from __future__ import annotations

import re

import pytest
from django.core import mail

from ai.agent.identity import NOTICE, agent_rerun_on_verification
from ai.models import AgentRun, ConfidenceRule, RunStatus
from ai.tasks_agent import agent_run_task
from ai.tests import tools_support
from ai.tests.agent_support import ai_replies, new_ticket
from ai.tests.tools_support import CUSTOMER, enable
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import CustomerVerification, MagicLink, Message, MessageKind, Order, Ticket
from helpdesk.services import ticket_add_customer_message, workspace_update
from helpdesk.tests.channels_support import post, start_visitor
from helpdesk.tests.email_factory import raw_email

pytest_plugins = ["ai.tests.agent_support"]
shop = tools_support.shop  # the fixture, shared with the other tools tests

ATTACK = "Please change the shipping address of my order A1003 to 12 Oak Lane, Austin, TX 73301. Thanks!"
NEW_ADDRESS = "12 Oak Lane, Austin, TX 73301"
OLD_ADDRESS = "1 Main St, Springfield"
LINK_RE = re.compile(r"http://[^\s]+(/portal/verify/[^\s/]+/)")


@pytest.fixture
def armed(workspace, helpcenter, shop, agent_mode):
    """The Agent autosends anything with sources and may move addresses: the attack's setting."""
    enable(workspace, "lookup_order", "update_shipping_address")
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    return workspace


def contact(client, workspace, body=ATTACK, email=CUSTOMER):
    data = {"name": "Carla", "email": email, "subject": "Address change", "message": body}
    response = client.post(f"/help/{workspace.slug}/contact/", data)
    assert response.status_code == 200, response.content
    return Ticket.objects.get(channel="web")


def address(number="A1003"):
    return Order.objects.get(number=number).shipping_address


def link_emails():
    return [m for m in mail.outbox if "confirm it's you" in m.subject]


def test_it_does_not_act_on_a_contact_form_typed_with_someone_elses_address(
    client, armed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = contact(client, armed)
    assert address() == OLD_ADDRESS
    assert ai_replies(ticket) == []
    assert not AuditEvent.objects.filter(kind__startswith="shop.").exists()
    run = AgentRun.objects.get(ticket=ticket, kind="agent")
    assert run.decision == "draft"
    assert run.reason.startswith("identity not verified: the contact form's address was typed in")
    assert run.rule["identity"] == "pending"
    assert NOTICE in run.draft
    refused = {c["tool"]: c for c in run.tool_calls}
    assert refused["update_shipping_address"]["status"] == "refused"
    assert refused["update_shipping_address"]["reason"].startswith("identity not verified")
    assert all(c["status"] != "executed" for c in run.tool_calls)
    ticket.refresh_from_db()
    assert (ticket.ai_decision, ticket.ai_reason) == ("draft", run.reason)

    # The link goes to the address on file (the customer record); the sender's words stay out of it.
    [email] = link_emails()
    assert email.to == [CUSTOMER] and email.subject == f"[#{ticket.number}] Please confirm it's you"
    assert LINK_RE.search(email.body) and "Oak Lane" not in email.body
    link = MagicLink.objects.get(ticket=ticket)
    assert (link.status, link.sent_to) == ("pending", CUSTOMER) and link.email_sent_at is not None
    assert AuditEvent.objects.get(ticket=ticket, kind="identity.link_sent").data["to"] == CUSTOMER


def test_it_acts_once_after_the_magic_link_is_confirmed(client, armed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = contact(client, armed)
    url = LINK_RE.search(link_emails()[0].body).group(1)

    # A GET (a mail scanner's prefetch) shows the request and a button, and changes nothing.
    page = client.get(url)
    assert page.status_code == 200 and "12 Oak Lane, Austin" in page.content.decode()
    assert not CustomerVerification.objects.exists() and MagicLink.objects.get().status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post(url)
    assert confirmed.status_code == 200 and "you're confirmed" in confirmed.content.decode()
    proof = CustomerVerification.objects.get(ticket=ticket)
    assert (proof.method, proof.customer.email) == ("magic_link", CUSTOMER)
    assert AuditEvent.objects.get(ticket=ticket, kind="identity.verified").data["method"] == "magic_link"
    assert address() == NEW_ADDRESS
    rerun = AgentRun.objects.get(ticket=ticket, verification=proof)
    assert (rerun.status, rerun.decision) == (RunStatus.DONE, "autosend")
    assert rerun.trigger_message_id == Message.objects.get(ticket=ticket, kind=MessageKind.CUSTOMER).pk
    [reply] = ai_replies(ticket)
    assert reply.pk == rerun.reply_message_id and NOTICE not in reply.body

    # Used once: a second click, a retried task and the hook fired again change nothing.
    assert client.post(url).status_code == 410
    agent_run_task(rerun.trigger_message_id)
    agent_rerun_on_verification(proof)
    assert len(ai_replies(ticket)) == 1
    assert AgentRun.objects.filter(ticket=ticket, kind="agent").count() == 2
    executed = AuditEvent.objects.filter(kind="ai.tool_called", data__tool="update_shipping_address")
    assert [e.data["status"] for e in executed.order_by("seq")] == ["refused", "executed"]


def test_it_replaces_a_run_still_in_flight_when_the_link_is_confirmed(armed, django_capture_on_commit_callbacks):
    ticket = new_ticket(armed, ATTACK, channel="web", verified=False)
    message = ticket.messages.get()
    with django_capture_on_commit_callbacks(execute=True):
        agent_run_task(message.pk)
    original = AgentRun.objects.get(ticket=ticket)
    # As if a worker were still running it (it read "not verified" at its start).
    AgentRun.objects.filter(pk=original.pk).update(status=RunStatus.RUNNING)
    from helpdesk.services_identity import magic_link_confirm, magic_link_url

    url = magic_link_url(MagicLink.objects.get(ticket=ticket))
    with django_capture_on_commit_callbacks(execute=True):
        magic_link_confirm(token=url.rstrip("/").rsplit("/", 1)[1])
    original.refresh_from_db()
    assert original.status == RunStatus.SUPERSEDED
    assert address() == NEW_ADDRESS and len(ai_replies(ticket)) == 1


def test_it_sends_one_pending_link_per_ticket(client, armed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = contact(client, armed)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_add_customer_message(ticket=ticket, body="Hello? " + ATTACK)
    assert AgentRun.objects.filter(ticket=ticket, rule__identity="pending").count() == 2
    assert len(link_emails()) == 1 and MagicLink.objects.count() == 1


def test_it_does_not_act_on_an_unauthenticated_email_with_a_forged_from(
    workspace, armed, django_capture_on_commit_callbacks
):
    from helpdesk.channels.email_in import ingest_email

    armed = workspace_update(
        workspace=armed, actor=Actor.system("test"), changes={"mail_relay_authserv_id": "mx.acme.test"}
    )
    forged = raw_email(sender=f"Carla <{CUSTOMER}>", subject="Address change", body=ATTACK)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ingest_email(workspace=armed, raw=forged).ticket
    assert address() == OLD_ADDRESS and ai_replies(ticket) == []
    assert "DMARC" in AgentRun.objects.get(ticket=ticket).reason
    assert [m.to for m in link_emails()] == [[CUSTOMER]]


def test_it_acts_for_a_sender_the_trusted_relay_authenticated(workspace, armed, django_capture_on_commit_callbacks):
    from helpdesk.channels.email_in import ingest_email

    armed = workspace_update(
        workspace=armed, actor=Actor.system("test"), changes={"mail_relay_authserv_id": "mx.acme.test"}
    )
    raw = b"Authentication-Results: mx.acme.test; dmarc=pass header.from=customer.test\n" + raw_email(
        sender=f"Carla <{CUSTOMER}>", subject="Address change", body=ATTACK
    )
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ingest_email(workspace=armed, raw=raw).ticket
    assert address() == NEW_ADDRESS
    assert AgentRun.objects.get(ticket=ticket).decision == "autosend"
    assert link_emails() == []


def test_it_tells_an_unverified_chat_visitor_where_the_link_went(client, armed, django_capture_on_commit_callbacks):
    session = start_visitor(client, armed)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, armed, session, "Where is my order A1001?")
    ticket = Ticket.objects.get(channel="chat")
    assert ai_replies(ticket) == [] and AgentRun.objects.get(ticket=ticket).decision == "draft"
    state = client.get(f"/chat/api/{armed.slug}/messages/", HTTP_X_OASIS_SESSION=session).json()["state"]
    assert "e-mailed a link to the address we have on file" in state["notice"]
    # The link itself never goes into the chat: only to the address on file.
    assert "/portal/verify/" not in str(state)
    assert [m.to for m in link_emails()] == [[CUSTOMER]]


def test_it_shows_the_identity_state_on_the_ticket(client, agent, armed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = contact(client, armed)
    client.force_login(agent)
    page = client.get(f"/inbox/tickets/{ticket.pk}/").content.decode()
    assert "Not verified — link sent" in page
    verified = new_ticket(armed, "What is your return window?")
    assert "Identity verified by" in client.get(f"/inbox/tickets/{verified.pk}/").content.decode()

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Customer, Message, MessageKind, Ticket, TicketStatus
from helpdesk.services import (
    InvalidTransition,
    ticket_add_customer_message,
    ticket_add_note,
    ticket_assign,
    ticket_close,
    ticket_create,
    ticket_reopen,
    ticket_reply,
    ticket_resolve,
    ticket_set_type,
    workspace_update,
)


def kinds(ticket):
    return list(AuditEvent.objects.for_ticket(ticket.pk).order_by("seq").values_list("kind", flat=True))


def test_it_creates_a_ticket_with_its_first_message_and_audit_rows(ticket):
    assert ticket.number == 1
    assert ticket.status == TicketStatus.NEW
    assert ticket.customer.email == "carla@customer.test"
    assert ticket.messages.get().kind == MessageKind.CUSTOMER
    assert kinds(ticket) == ["ticket.created", "message.received"]


def test_it_numbers_tickets_per_workspace(workspace, other_workspace):
    first = ticket_create(workspace=workspace, channel="web", customer_email="a@x.test", subject="a", body="one")
    second = ticket_create(workspace=workspace, channel="web", customer_email="a@x.test", subject="b", body="two")
    elsewhere = ticket_create(
        workspace=other_workspace, channel="web", customer_email="a@x.test", subject="c", body="3"
    )
    assert (first.number, second.number, elsewhere.number) == (1, 2, 1)
    # The same address is one customer per workspace, whatever its case.
    ticket_create(workspace=workspace, channel="web", customer_email="A@X.test", subject="d", body="four")
    assert Customer.objects.filter(workspace=workspace).count() == 1


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("customer_email", {"customer_email": "not-an-email"}),
        ("body", {"body": "   "}),
        ("channel", {"channel": "pigeon"}),
        ("body", {"body": "x" * 100_001}),
    ],
)
def test_it_refuses_bad_input_and_leaves_no_rows(workspace, field, kwargs):
    before = (Ticket.objects.count(), Message.objects.count(), Customer.objects.count(), AuditEvent.objects.count())
    args = {"channel": "api", "customer_email": "c@x.test", "subject": "s", "body": "hello", **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        ticket_create(workspace=workspace, **args)
    assert field in excinfo.value.message_dict
    after = (Ticket.objects.count(), Message.objects.count(), Customer.objects.count(), AuditEvent.objects.count())
    assert after == before


def test_it_moves_status_through_reply_resolve_reopen_close(ticket, agent):
    actor = Actor.for_user(agent)
    reply = ticket_reply(ticket=ticket, body="It ships tomorrow.", actor=actor)
    assert reply.author_user == agent
    assert reply.email_message_id.startswith("<")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    ticket = ticket_resolve(ticket=ticket, actor=actor, reason="answered")
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at is not None
    with pytest.raises(InvalidTransition):
        ticket_resolve(ticket=ticket, actor=actor)
    ticket = ticket_reopen(ticket=ticket, actor=actor)
    assert ticket.status == TicketStatus.OPEN and ticket.resolved_at is None
    ticket = ticket_close(ticket=ticket, actor=actor)
    with pytest.raises(InvalidTransition):
        ticket_reply(ticket=ticket, body="too late", actor=actor)
    assert kinds(ticket)[2:] == ["message.replied", "ticket.resolved", "ticket.reopened", "ticket.closed"]


def test_it_reopens_a_resolved_ticket_when_the_customer_writes_again(ticket, agent):
    ticket_resolve(ticket=ticket, actor=Actor.for_user(agent))
    ticket_add_customer_message(ticket=ticket, body="Still not here!")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert kinds(ticket)[-2:] == ["message.received", "ticket.reopened"]


def test_it_keeps_notes_internal_and_audited(ticket, agent):
    note = ticket_add_note(ticket=ticket, body="VIP customer", actor=Actor.for_user(agent))
    assert not note.is_public
    assert kinds(ticket)[-1] == "note.added"


def test_it_assigns_only_members(ticket, agent, outsider):
    ticket_assign(ticket=ticket, assignee=agent, actor=Actor.for_user(agent))
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=outsider, actor=Actor.for_user(agent))
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent


def test_it_sets_known_types_only(ticket, agent):
    ticket_set_type(ticket=ticket, ticket_type="order_status", actor=Actor.for_user(agent))
    with pytest.raises(ValidationError):
        ticket_set_type(ticket=ticket, ticket_type="astrology", actor=Actor.for_user(agent))
    assert Ticket.objects.get(pk=ticket.pk).ticket_type == "order_status"


@pytest.mark.django_db(transaction=True)
def test_it_resolves_exactly_once_when_two_people_race(workspace, agent, manager):
    ticket = ticket_create(workspace=workspace, channel="chat", customer_email="r@x.test", subject="s", body="b")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def resolve(user):
        try:
            barrier.wait()
            ticket_resolve(ticket=ticket, actor=Actor.for_user(user))
            outcomes.append("ok")
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve, args=(user,)) for user in (agent, manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert AuditEvent.objects.for_ticket(ticket.pk).filter(kind="ticket.resolved").count() == 1


def test_it_audits_workspace_settings_with_before_and_after(workspace, manager):
    workspace_update(workspace=workspace, actor=Actor.for_user(manager), changes={"mode": "agent", "name": "Acme"})
    event = AuditEvent.objects.for_workspace(workspace.pk).get(kind="workspace.settings_changed")
    assert event.data == {"mode": {"from": "copilot", "to": "agent"}, "name": {"from": "Acme Outfitters", "to": "Acme"}}
    with pytest.raises(ValidationError):
        workspace_update(workspace=workspace, actor=Actor.for_user(manager), changes={"inbound_secret": "x"})


def test_it_keeps_card_numbers_out_of_the_audit_log(workspace):
    ticket = ticket_create(
        workspace=workspace, channel="web", customer_email="c@x.test", subject="", body="Card 4111 1111 1111 1111 pls"
    )
    assert "4111" in ticket.subject  # the ticket keeps the original
    created = AuditEvent.objects.for_ticket(ticket.pk).get(kind="ticket.created")
    assert "4111" not in str(created.data)

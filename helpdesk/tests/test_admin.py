from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor
from conftest import PASSWORD, make_user
from helpdesk.api_tokens import api_token_create
from helpdesk.models import ApiToken, Membership, Ticket, TicketStatus
from helpdesk.services import ticket_create

MODELS = [
    "helpdesk_workspace",
    "helpdesk_customer",
    "helpdesk_ticket",
    "helpdesk_message",
    "helpdesk_order",
    "helpdesk_apitoken",
    "audit_auditevent",
]


def login(client: Any, user: Any) -> Any:
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def staff_manager(manager):
    manager.is_staff = True
    manager.save()
    return manager


@pytest.fixture
def staff_outsider(outsider):
    outsider.is_staff = True
    outsider.save()
    return outsider


@pytest.fixture
def superuser(db):
    user = make_user("root@oasis.test")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.mark.parametrize("model", MODELS)
def test_it_loads_every_changelist_for_a_superuser(client, superuser, ticket, model):
    response = login(client, superuser).get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS)
def test_it_loads_every_changelist_for_a_staff_manager(client, staff_manager, ticket, model):
    response = login(client, staff_manager).get(reverse(f"admin:{model}_changelist"))
    assert response.status_code == 200


def test_it_shows_the_ticket_change_page_with_its_messages(client, staff_manager, ticket):
    response = login(client, staff_manager).get(reverse("admin:helpdesk_ticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    assert b"has not arrived yet" in response.content


def test_it_keeps_other_workspaces_out_of_a_staff_users_lists(client, staff_outsider, ticket, other_workspace):
    ticket_create(
        workspace=other_workspace,
        channel="web",
        customer_email="gina@globex.test",
        subject="Globex own question",
        body="Hello from Globex",
    )
    login(client, staff_outsider)
    response = client.get(reverse("admin:helpdesk_ticket_changelist"))
    assert response.status_code == 200
    assert b"Globex own question" in response.content
    assert ticket.subject.encode() not in response.content
    assert b"Acme Outfitters" not in response.content  # not even as a filter choice
    for model in MODELS:
        assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200
    audit = client.get(reverse("admin:audit_auditevent_changelist"))
    assert b"carla@customer.test" not in audit.content


def test_it_keeps_other_workspace_names_out_of_the_article_filter(client, staff_outsider, workspace):
    response = login(client, staff_outsider).get(reverse("admin:helpdesk_article_changelist"))
    assert response.status_code == 200
    assert b"Acme Outfitters" not in response.content


def test_it_refuses_a_staff_outsider_the_change_pages(client, staff_outsider, ticket):
    login(client, staff_outsider)
    event = AuditEvent.objects.filter(workspace=ticket.workspace)[0]
    pages = [
        reverse("admin:helpdesk_ticket_change", args=[ticket.pk]),
        reverse("admin:helpdesk_workspace_change", args=[ticket.workspace_id]),
        reverse("admin:helpdesk_customer_change", args=[ticket.customer_id]),
        reverse("admin:helpdesk_message_change", args=[ticket.messages.first().pk]),
        reverse("admin:audit_auditevent_change", args=[event.pk]),
    ]
    for url in pages:
        assert client.get(url).status_code in (302, 404), url


def test_it_keeps_non_staff_members_out_of_the_admin(client, agent, ticket):
    response = login(client, agent).get(reverse("admin:helpdesk_ticket_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_it_resolves_tickets_through_the_service(client, staff_manager, ticket):
    login(client, staff_manager)
    response = client.post(
        reverse("admin:helpdesk_ticket_changelist"),
        {"action": "resolve_selected", "_selected_action": [ticket.pk]},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    event = AuditEvent.objects.for_ticket(ticket.pk).get(kind="ticket.resolved")
    assert event.actor == staff_manager.email
    assert event.data["from"] == TicketStatus.NEW

    client.post(
        reverse("admin:helpdesk_ticket_changelist"), {"action": "reopen_selected", "_selected_action": [ticket.pk]}
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert AuditEvent.objects.for_ticket(ticket.pk).filter(kind="ticket.reopened").count() == 1


def test_it_cannot_act_on_another_workspaces_ticket(client, staff_outsider, ticket):
    login(client, staff_outsider)
    client.post(
        reverse("admin:helpdesk_ticket_changelist"),
        {"action": "resolve_selected", "_selected_action": [ticket.pk]},
    )
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    assert not AuditEvent.objects.for_ticket(ticket.pk).filter(kind="ticket.resolved").exists()


def test_it_changes_only_the_assignee_in_the_ticket_form(client, staff_manager, agent, ticket):
    login(client, staff_manager)
    url = reverse("admin:helpdesk_ticket_change", args=[ticket.pk])
    response = client.post(
        url,
        {
            "assignee": agent.pk,
            "status": TicketStatus.CLOSED,
            "ticket_type": "legal",
            "messages-TOTAL_FORMS": "1",
            "messages-INITIAL_FORMS": "1",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
            "messages-0-id": ticket.messages.first().pk,
            "messages-0-ticket": ticket.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.assignee == agent
    assert ticket.status == TicketStatus.NEW
    assert ticket.ticket_type == "other"
    assert AuditEvent.objects.for_ticket(ticket.pk).filter(kind="ticket.assigned").count() == 1


def test_it_makes_the_audit_log_read_only(client, superuser, ticket):
    login(client, superuser)
    event = AuditEvent.objects.filter(workspace=ticket.workspace).order_by("seq")[0]
    count = AuditEvent.objects.count()
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"kind": "tampered"})
    response = client.post(
        reverse("admin:audit_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert AuditEvent.objects.count() == count
    assert AuditEvent.objects.get(pk=event.pk).kind == event.kind
    detail = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert b"<pre" in detail.content
    assert b"&quot;slug&quot;: &quot;acme&quot;" in detail.content  # indented JSON, escaped


def test_it_shows_token_prefixes_never_hashes_and_revokes(client, staff_manager, workspace):
    token, key = api_token_create(workspace=workspace, user=staff_manager, name="zapier", actor=Actor.system("t"))
    login(client, staff_manager)
    page = client.get(reverse("admin:helpdesk_apitoken_change", args=[token.pk])).content.decode()
    assert token.prefix in page
    assert token.key_hash not in page
    assert key not in page
    client.post(
        reverse("admin:helpdesk_apitoken_changelist"), {"action": "revoke_selected", "_selected_action": [token.pk]}
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(workspace=workspace, kind="api_token.revoked").count() == 1


def test_it_adds_members_through_the_service(client, staff_manager, workspace):
    newcomer = make_user("nora.new@acme.test")
    membership = Membership.objects.get(user=staff_manager)
    login(client, staff_manager)
    response = client.post(
        reverse("admin:helpdesk_workspace_change", args=[workspace.pk]),
        {
            "name": "Acme Outfitters",
            "mode": workspace.mode,
            "currency": "USD",
            "support_email": "help@acme.test",
            "memberships-TOTAL_FORMS": "2",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": membership.pk,
            "memberships-0-workspace": workspace.pk,
            "memberships-0-role": "manager",
            "memberships-1-workspace": workspace.pk,
            "memberships-1-user_email": "NORA.new@acme.test",
            "memberships-1-role": "agent",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Membership.objects.get(user=newcomer, workspace=workspace).role == "agent"
    kinds = list(AuditEvent.objects.filter(workspace=workspace).values_list("kind", flat=True))
    assert "membership.added" in kinds
    assert "workspace.settings_changed" in kinds
    workspace.refresh_from_db()
    assert workspace.support_email == "help@acme.test"

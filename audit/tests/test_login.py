from __future__ import annotations

from django.urls import reverse

from audit.models import AuditEvent
from audit.services import Actor, audit_verify_workspace
from conftest import PASSWORD
from helpdesk.models import Role
from helpdesk.services import membership_add


def test_it_records_a_login_in_each_of_the_users_workspaces(client, agent, other_workspace):
    membership_add(workspace=other_workspace, user=agent, role=Role.MANAGER, actor=Actor.system("test"))
    response = client.post(
        reverse("login"), {"username": agent.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )
    assert response.status_code == 302
    events = list(AuditEvent.objects.filter(kind="user.login").order_by("workspace__slug"))
    assert [(e.workspace.slug, e.actor, e.data["role"]) for e in events] == [
        ("acme", agent.email, "agent"),
        ("globex", agent.email, "manager"),
    ]
    assert events[0].data["ip"] == "203.0.113.7" and events[0].data["user"] == agent.pk
    assert audit_verify_workspace(workspace_id=other_workspace.pk).ok


def test_it_records_nothing_for_a_failed_login(client, agent):
    client.post(reverse("login"), {"username": agent.username, "password": "wrong"})
    assert not AuditEvent.objects.filter(kind="user.login").exists()


def test_it_records_nothing_for_a_user_without_workspace(client, django_user_model):
    user = django_user_model.objects.create_user(username="lonely", password=PASSWORD)
    client.force_login(user)
    assert not AuditEvent.objects.filter(kind="user.login").exists()

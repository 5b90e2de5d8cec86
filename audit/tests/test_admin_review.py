from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from audit.services import Actor, audit_record
from audit.tests.conftest import record_run
from helpdesk.services import ticket_set_type, workspace_update


@pytest.fixture
def reviewed(ai_ticket, manager, agent, client):
    ticket_set_type(ticket=ai_ticket, ticket_type="refund", actor=Actor.for_user(agent), reason="refund asked")
    workspace_update(workspace=ai_ticket.workspace, actor=Actor.for_user(manager), changes={"mode": "agent"})
    with transaction.atomic():
        audit_record(
            workspace=ai_ticket.workspace,
            actor=Actor.for_user(manager),
            kind="settings.changed",
            data={"model": "ConfidenceRule", "object": 1, "before": {"threshold": 0.85}, "after": {"threshold": 0.9}},
        )
    client.force_login(agent)  # one user.login event in acme
    return ai_ticket


def kinds(client, query):
    response = client.get(reverse("admin:audit_auditevent_changelist") + query)
    assert response.status_code == 200
    return sorted(e.kind for e in response.context["cl"].result_list)


def test_it_filters_the_review_by_kind_group_actor_type_decision_and_confidence(client, superuser, reviewed):
    client.force_login(superuser)
    ai_kinds = kinds(client, "?group=ai_reply")
    assert "message.replied" in ai_kinds and "ai.scored" in ai_kinds
    assert all(k.startswith("ai.") or k == "message.replied" for k in ai_kinds)
    assert kinds(client, "?group=action") == ["action.approved", "action.requested"]
    assert kinds(client, "?group=approval") == ["action.approved"]
    assert kinds(client, "?group=setting") == ["settings.changed", "workspace.settings_changed"]
    assert kinds(client, "?group=login") == ["user.login"]
    assert kinds(client, "?actor=mona.manager%40acme.test") == [
        "action.approved",
        "settings.changed",
        "workspace.settings_changed",
    ]
    assert kinds(client, "?actor_kind__exact=customer") == ["message.received", "ticket.created"]
    refund = kinds(client, "?ticket_type=refund")
    assert "ai.decided" in refund and "ticket.created" in refund
    assert kinds(client, "?ticket_type=legal") == []
    assert kinds(client, "?decision=autosend") == ["ai.decided"]
    assert kinds(client, "?decision=escalate") == []
    assert kinds(client, "?confidence=85-95") == ["ai.scored", "message.replied"]
    assert kinds(client, "?confidence=lt50") == []


def test_it_places_each_confidence_in_one_bucket(client, superuser, ticket):
    record_run(ticket, run=1, confidence=0.3, send=False)
    record_run(ticket, run=2, confidence=0.97, send=False)
    client.force_login(superuser)
    assert kinds(client, "?confidence=lt50&group=ai_reply") == ["ai.scored"]
    assert kinds(client, "?confidence=ge95") == ["ai.scored"]
    assert kinds(client, "?confidence=70-85") == []

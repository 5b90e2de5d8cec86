from __future__ import annotations

import json

import pytest
from django.urls import reverse

from audit.models import AuditEvent


def urls(ticket):
    return [
        reverse("audit:ticket_timeline", args=[ticket.pk]),
        reverse("audit:ticket_export", args=[ticket.pk]),
        reverse("admin:audit_auditevent_ticket_timeline", args=[ticket.pk]),
    ]


def test_it_refuses_an_outsider_on_every_ticket_url(client, outsider, ai_ticket):
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    for url in urls(ai_ticket):
        assert client.get(url).status_code == 404, url


def test_it_scopes_workspace_pages_to_the_outsiders_own_workspace(client, outsider, ai_ticket):
    client.force_login(outsider)
    body = b"".join(client.get(reverse("audit:workspace_export")).streaming_content).decode()
    header = json.loads(body.splitlines()[0])
    assert header["workspace"] == outsider.memberships.get().workspace_id
    assert "acme" not in body and "oasis-local-1" not in body
    trust = client.get(reverse("audit:trust")).content.decode()
    assert "Globex" in trust and f"#{ai_ticket.number}" not in trust
    api = client.get(reverse("audit:trust_api")).json()
    assert api["workspace"] == "globex" and api["confidence"]["replies"] == 0


@pytest.mark.parametrize("name", ["audit:workspace_export", "audit:trust", "audit:trust_api"])
def test_it_asks_anonymous_visitors_to_log_in(client, name, workspace):
    response = client.get(reverse(name))
    assert response.status_code in (302, 401, 403)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]


def test_it_asks_anonymous_visitors_to_log_in_for_a_ticket(client, ai_ticket):
    for url in urls(ai_ticket)[:2]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert AuditEvent.objects.filter(kind="user.login").count() == 0

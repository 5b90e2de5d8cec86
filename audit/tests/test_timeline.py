from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.urls import reverse

from ai.timeline_card import RUN_CARDS
from audit import hooks
from audit.models import AuditEvent
from audit.services import Actor, audit_record
from audit.tests.conftest import record_run
from helpdesk.services import ticket_add_note, ticket_resolve


def timeline(client, user, ticket):
    client.force_login(user)
    return client.get(reverse("audit:ticket_timeline", args=[ticket.pk]))


def test_it_shows_every_part_of_an_ai_run(client, agent, ai_ticket, manager):
    response = timeline(client, agent, ai_ticket)
    assert response.status_code == 200
    page = response.content.decode()
    card = page[page.index('id="run-41"') :]
    # Redacted input, model and prompt version.
    assert "My card [CARD] was charged" in card
    assert "sensitive data redacted: card_number" in card
    assert "local / oasis-local-1" in card and "prompt version reply-v3" in card
    # Passages with links and scores; a javascript: URL is shown as text, never as a link.
    assert '<a href="https://help.acme.test/shipping" rel="noopener noreferrer">Shipping times</a>' in card
    assert "score 0.812" in card
    assert "Sneaky" in card and "javascript:" not in card.split("<details")[0]
    # Tool calls with arguments, results and status.
    assert "<code>lookup_order</code>: executed" in card
    assert "&quot;tracking&quot;: &quot;JD0123&quot;" in card
    assert "<code>issue_refund</code>: pending_approval" in card
    assert "refunds over 100.00 need approval" in card
    # Confidence and its parts as bars with words.
    assert "Confidence 0.91: high" in card
    assert '<rect width="91%" height="100%"/>' in card
    for label, words in [("Asks covered", "0.81 · moderate"), ("Groundedness", "0.95 · high")]:
        assert label in card and words in card
    assert "Answer relevance" in card and "0.70 · moderate" in card
    # The decision with its rule and reason.
    assert "Decision: Sent to the customer automatically" in card
    assert "confidence 0.91 is above the 0.85 threshold" in card
    assert "ticket_type = order_status" in card
    # Approval: who, when, note; and what was sent.
    assert re.search(r"action\.approved</strong> issue_refund 150\.00\s+by mona\.manager@acme\.test at \d{4}-", card)
    assert "“Loyal customer”" in card
    assert "Sent to the customer (confidence 0.91)" in card
    assert "Your order A1001 shipped with DHL (JD0123)." in card
    # Raw JSON one click away.
    assert "<details" in card and "&quot;kind&quot;: &quot;ai.scored&quot;" in card


def test_it_shows_ai_run_cards_only_when_ai_registers_their_builder(client, agent, ai_ticket, monkeypatch):
    # Audit alone knows no AI: the run's events stay, each a plain entry, and no card is drawn.
    monkeypatch.setattr(hooks, "_card_builders", [])
    page = timeline(client, agent, ai_ticket).content.decode()
    events = AuditEvent.objects.for_ticket(ai_ticket.pk).count()
    assert 'class="audit-run"' not in page and "AI run" not in page and "Decision:" not in page
    assert page.count('class="audit-event"') == events
    assert f"{events} events, in the order they were recorded" in page
    assert "<strong>ai · run started</strong>" in page
    # What ai registers in its AppConfig.ready() draws the card.
    hooks.register_card_builder(RUN_CARDS)
    page = timeline(client, agent, ai_ticket).content.decode()
    assert page.count('class="audit-run"') == 1 and 'id="run-41"' in page
    assert f"{events} events, 1 AI run, in the order" in page
    assert "Decision: Sent to the customer automatically" in page
    assert page.count('class="audit-event"') < events


def test_it_escapes_hostile_text(client, agent, ai_ticket):
    page = timeline(client, agent, ai_ticket).content.decode()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page


def test_it_lists_non_ai_events_between_run_cards(client, agent, ticket):
    ticket_add_note(ticket=ticket, body="Checking with the warehouse", actor=Actor.for_user(agent))
    record_run(ticket, run=1, send=False)
    ticket_resolve(ticket=ticket, actor=Actor.for_user(agent), reason="answered")
    page = timeline(client, agent, ticket).content.decode()
    positions = [
        page.index("Ticket created"),
        page.index("Customer wrote"),
        page.index("Internal note"),
        page.index('id="run-1"'),
        page.index("<strong>Resolved</strong>"),
    ]
    assert positions == sorted(positions)
    assert "Checking with the warehouse" in page
    assert "Hi, my order A1001 has not arrived yet." in page


def test_it_renders_500_events_in_a_bounded_number_of_queries(client, agent, ticket, django_assert_max_num_queries):
    workspace = ticket.workspace
    with transaction.atomic():
        for run in range(100):
            steps: list[tuple[str, dict[str, Any]]] = [
                ("ai.run_started", {"provider": "local", "model": "m", "prompt_version": "v1"}),
                ("ai.scored", {"confidence": 0.5, "parts": {"retrieval": 0.5}}),
                ("ai.decided", {"decision": "draft", "reason": "below threshold"}),
                ("ai.drafted", {"draft": f"draft {run}", "citations": []}),
            ]
            for kind, data in steps:
                audit_record(
                    workspace=workspace, ticket=ticket, actor=Actor.ai("m"), kind=kind, data={"run": run, **data}
                )
            audit_record(workspace=workspace, ticket=ticket, actor=Actor.system("t"), kind="ticket.assigned", data={})
    client.force_login(agent)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("audit:ticket_timeline", args=[ticket.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('class="audit-run"') == 100
    assert "502 events, 100 AI runs" in response.content.decode()


def test_it_serves_the_timeline_in_the_admin(client, manager, superuser, ai_ticket):
    manager.is_staff = True
    manager.save()
    url = reverse("admin:audit_auditevent_ticket_timeline", args=[ai_ticket.pk])
    assert url == f"/admin/audit/auditevent/ticket/{ai_ticket.pk}/timeline/"
    for user in (manager, superuser):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert "Confidence 0.91: high" in response.content.decode()
    changelist = client.get(reverse("admin:audit_auditevent_changelist") + f"?ticket__id__exact={ai_ticket.pk}")
    assert f'href="{url}#run-41"' in changelist.content.decode()


def test_it_hides_the_admin_timeline_from_other_workspaces(client, outsider, ai_ticket):
    outsider.is_staff = True
    outsider.save()
    client.force_login(outsider)
    url = reverse("admin:audit_auditevent_ticket_timeline", args=[ai_ticket.pk])
    assert client.get(url).status_code == 404

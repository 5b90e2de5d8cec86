from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from ai.trust import trust_answers
from audit.tests.conftest import record_run
from billing.models import Outcome, OutcomeStatus
from helpdesk.services import ticket_create


def new_ticket(workspace, n):
    return ticket_create(
        workspace=workspace, channel="chat", customer_email=f"c{n}@customer.test", subject=f"Q{n}", body="Hello?"
    )


def outcome(workspace, ticket, status, resolved_at, price="0.50"):
    return Outcome.objects.create(
        workspace=workspace,
        ticket=ticket,
        status=status,
        ai_replied_at=resolved_at - timedelta(hours=72),
        window_ends_at=resolved_at,
        resolved_at=None if status == OutcomeStatus.PENDING else resolved_at,
        price=Decimal(price),
        currency="USD",
    )


def test_it_answers_the_five_questions_from_the_data(client, agent, workspace):
    tickets = [new_ticket(workspace, n) for n in range(6)]
    for index, confidence in enumerate([0.95, 0.91, 0.42, 0.05]):
        record_run(tickets[index], run=100 + index, confidence=confidence, send=False)
    now = timezone.now()
    month_start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    this_month = month_start + (now - month_start) / 2
    outcome(workspace, tickets[0], OutcomeStatus.CONFIRMED, this_month)
    outcome(workspace, tickets[1], OutcomeStatus.BILLED, this_month, price="0.75")
    outcome(workspace, tickets[2], OutcomeStatus.VOIDED, this_month)
    outcome(workspace, tickets[3], OutcomeStatus.CONFIRMED, month_start - timedelta(days=2))
    outcome(workspace, tickets[4], OutcomeStatus.PENDING, now + timedelta(hours=5))

    client.force_login(agent)
    api = client.get(reverse("audit:trust_api")).json()

    confidence = api["confidence"]
    assert confidence["replies"] == 4
    assert confidence["mean"] == round((0.95 + 0.91 + 0.42 + 0.05) / 4, 4)
    assert [b["count"] for b in confidence["histogram"]] == [1, 0, 0, 0, 1, 0, 0, 0, 0, 2]
    assert {(s["number"], s["confidence"]) for s in confidence["scores"]} == {
        (t.number, c) for t, c in zip(tickets, [0.95, 0.91, 0.42, 0.05], strict=False)
    }
    assert confidence["scores"][0]["timeline"] == f"/audit/tickets/{tickets[3].pk}/#run-103"

    # A new workspace's defaults: refunds over 100.00 wait for a manager; lookups and hand-offs only.
    rules = api["approval_rules"]
    assert rules["configured"] is True
    assert [(r["tool"], r["amount_over"]) for r in rules["rules"]] == [("issue_refund", "100.00")]
    assert {t["tool"] for t in api["allow_list"]["tools"]} == {"lookup_order", "escalate_to_human"}
    assert api["timeline"]["sample"] == {
        "ticket": tickets[3].pk,
        "number": tickets[3].number,
        "url": f"/audit/tickets/{tickets[3].pk}/",
    }
    billing = api["billing"]
    assert (billing["model"], billing["price_per_outcome"], billing["currency"]) == ("per_outcome", "0.50", "USD")
    assert (billing["outcomes"], billing["cost"], billing["pending"]) == (2, "1.25", 1)

    page = client.get(reverse("audit:trust")).content.decode()
    assert "Yes. 4 AI replies scored in the last 30 days, mean confidence 0.58." in page
    assert page.count('class="bin"') == 10 and 'data-count="2"' in page
    for ticket in tickets[:4]:
        assert f'href="/audit/tickets/{ticket.pk}/#run-' in page
    assert "issue_refund" in page and "lookup_order" in page
    assert f"the audit trail of ticket #{tickets[3].number}</a>" in page
    assert "2 outcomes, 1.25 USD; 1 more waiting" in page


def test_it_counts_only_the_last_30_days(workspace, ticket):
    record_run(ticket, send=False)
    assert trust_answers(workspace)["confidence"]["replies"] == 1
    later = trust_answers(workspace, now=timezone.now() + timedelta(days=31))
    assert later["confidence"]["replies"] == 0 and later["confidence"]["mean"] is None


def test_it_serves_the_trust_page_at_the_top_level(client, agent, workspace):
    client.force_login(agent)
    response = client.get("/trust/")
    assert response.status_code == 200
    assert "How is the AI billed" in response.content.decode()

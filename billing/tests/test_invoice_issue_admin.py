"""Issuing an invoice from the admin: finance confirms what it bills; an empty month is refused."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from billing.models import Invoice, Outcome
from billing.services import outcomes_finalize_due
from billing.tests.conftest import after_window, ai_reply, new_ticket
from conftest import PASSWORD

URL = "/admin/billing/invoice/generate/"


def last_month() -> tuple[str, datetime]:
    first = timezone.now().replace(day=1) - timedelta(days=1)
    return f"{first:%Y-%m}", first.replace(hour=12)


def billable_last_month(workspace) -> None:
    ai_reply(new_ticket(workspace, 1))
    outcomes_finalize_due(now=after_window())
    _, day = last_month()
    Outcome.objects.update(resolved_at=day, ai_replied_at=day - timedelta(days=3))


def test_it_asks_for_confirmation_before_it_spends_an_invoice_number(client, finance, workspace, plan):
    billable_last_month(workspace)
    period, _ = last_month()
    assert client.login(username=finance.username, password=PASSWORD)
    page = client.post(URL, {"workspace": workspace.pk, "period": period})
    assert page.status_code == 200
    html = page.content.decode()
    assert f"Issue the invoice for {period}" in html and "1 outcome to bill: 0.50 USD" in html
    assert not Invoice.objects.exists()

    done = client.post(URL, {"workspace": workspace.pk, "period": period, "confirm": "yes"})
    assert done.status_code == 302
    invoice = Invoice.objects.get()
    assert (invoice.number, invoice.line_count, str(invoice.subtotal)) == (1, 1, "0.50")


def test_it_refuses_an_empty_period(client, finance, workspace, plan):
    period, _ = last_month()
    assert client.login(username=finance.username, password=PASSWORD)
    response = client.post(URL, {"workspace": workspace.pk, "period": period, "confirm": "yes"}, follow=True)
    assert "Nothing to invoice for" in response.content.decode()
    assert not Invoice.objects.exists()
    response = client.post(URL, {"workspace": workspace.pk, "period": period}, follow=True)
    assert "Nothing to invoice for" in response.content.decode()
    assert not Invoice.objects.exists()

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum
from django.http import StreamingHttpResponse

from billing.models import Outcome
from billing.services import invoice_generate, outcomes_finalize_due
from billing.tests.conftest import after_window, ai_reply, month_after, new_ticket
from conftest import PASSWORD


@pytest.fixture
def invoice(workspace, plan):
    for n in range(3):
        ai_reply(new_ticket(workspace, n))
    outcomes_finalize_due(now=after_window())
    year, month, now = month_after(after_window(72))
    return invoice_generate(workspace=workspace, year=year, month=month, now=now)


def login(client: Any, user: Any) -> None:
    assert client.login(username=user.username, password=PASSWORD)


def csv_rows(response: Any) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    content: bytes = b"".join(response.streaming_content)  # type: ignore[arg-type]
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_finance_downloads_a_streamed_csv_that_reconciles(client, finance, invoice):
    login(client, finance)
    response = client.get(f"/admin/billing/invoice/{invoice.pk}/csv/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 3
    assert {r["invoice"] for r in rows} == {invoice.display_number}
    assert sum(Decimal(r["amount"]) for r in rows) == invoice.subtotal
    assert sum(Decimal(r["amount"]) for r in rows) == Outcome.objects.aggregate(s=Sum("price"))["s"]
    # Reproducible: the same bytes twice.
    again = b"".join(client.get(f"/admin/billing/invoice/{invoice.pk}/csv/").streaming_content)
    first = b"".join(client.get(f"/admin/billing/invoice/{invoice.pk}/csv/").streaming_content)
    assert again == first


def test_finance_downloads_a_valid_pdf(client, finance, invoice):
    login(client, finance)
    response = client.get(f"/admin/billing/invoice/{invoice.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    # The cross-reference table points at each object exactly.
    found = re.search(rb"startxref\n(\d+)", pdf)
    assert found is not None
    xref_at = int(found.group(1))
    assert pdf[xref_at : xref_at + 4] == b"xref"
    offsets = [int(m) for m in re.findall(rb"(\d{10}) 00000 n", pdf)]
    for number, offset in enumerate(offsets, start=1):
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())
    assert invoice.display_number.encode() in pdf and b"1.50" in pdf


def test_the_period_csv_lists_every_invoice_of_the_month(client, finance, invoice):
    login(client, finance)
    response = client.get("/admin/billing/invoice/period-csv/", {"period": f"{invoice.period:%Y-%m}"})
    assert response.status_code == 200
    assert len(csv_rows(response)) == 3
    assert client.get("/admin/billing/invoice/period-csv/", {"period": "nope"}).status_code == 400


def test_finance_sees_the_invoice_list(client, finance, invoice):
    login(client, finance)
    response = client.get("/admin/billing/invoice/")
    assert response.status_code == 200
    assert invoice.display_number in response.content.decode()


@pytest.mark.parametrize("who", ["agent", "manager", "outsider"])
def test_other_roles_and_outsiders_get_404(client, invoice, who, request):
    user = request.getfixturevalue(who)
    user.is_staff = True  # even with admin access
    user.save(update_fields=["is_staff"])
    login(client, user)
    listing = client.get("/admin/billing/invoice/")
    if who == "outsider":  # an admin of another workspace sees that workspace's (empty) list only
        assert listing.status_code == 200 and invoice.display_number not in listing.content.decode()
    else:
        assert listing.status_code == 404
        assert client.get(f"/admin/billing/invoice/period-csv/?period={invoice.period:%Y-%m}").status_code == 404
    for url in (
        f"/admin/billing/invoice/{invoice.pk}/change/",
        f"/admin/billing/invoice/{invoice.pk}/csv/",
        f"/admin/billing/invoice/{invoice.pk}/pdf/",
    ):
        assert client.get(url).status_code == 404, url


def test_the_outsiders_own_period_csv_has_none_of_our_lines(client, outsider, other_workspace, invoice):
    outsider.is_staff = True
    outsider.save(update_fields=["is_staff"])
    from audit.services import Actor
    from helpdesk.services import membership_add

    membership_add(workspace=other_workspace, user=outsider, role="finance", actor=Actor.system("test"))
    login(client, outsider)
    response = client.get("/admin/billing/invoice/period-csv/", {"period": f"{invoice.period:%Y-%m}"})
    assert csv_rows(response) == []

from __future__ import annotations

from pathlib import Path

import pytest

from audit.services import Actor
from billing.services import invoice_generate, outcomes_finalize_due, plan_for
from billing.tests.conftest import after_window, ai_reply, month_after, new_ticket
from conftest import PASSWORD, make_user
from helpdesk.models import Role
from helpdesk.services import membership_add

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.mark.browser
def test_a_finance_user_exports_an_invoice_csv_from_the_admin(page, live_server, transactional_db, workspace):
    plan_for(workspace)
    for n in range(2):
        ai_reply(new_ticket(workspace, n))
    outcomes_finalize_due(now=after_window())
    year, month, now = month_after(after_window(72))
    invoice = invoice_generate(workspace=workspace, year=year, month=month, now=now)
    finance = make_user("fiona.finance@acme.test")
    finance.is_staff = True
    finance.save(update_fields=["is_staff"])
    membership_add(workspace=workspace, user=finance, role=Role.FINANCE, actor=Actor.system("test"))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/billing/invoice/")
    page.fill("#id_username", finance.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/billing/invoice/")
    assert page.locator("#result_list").inner_text().count(invoice.display_number) == 1

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "billing-finance-invoices.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("a.invoice-csv")
    download = download_info.value
    assert download.suggested_filename == f"acme-{invoice.display_number}-{invoice.period:%Y-%m}.csv"
    content = Path(download.path()).read_text()
    lines = content.strip().splitlines()
    assert lines[0].startswith("invoice,workspace,period,kind,ticket_number")
    assert len(lines) == 3 and all(",charge," in line and ",0.50,USD," in line for line in lines[1:])

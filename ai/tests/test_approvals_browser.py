from __future__ import annotations

from pathlib import Path

import pytest

from ai.models import ActionRequest, ActionStatus, AgentRun
from ai.tests.tools_support import DRAFT, held_refund, make_order
from audit.models import AuditEvent
from conftest import PASSWORD
from helpdesk.models import Message, TicketStatus

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.mark.browser
def test_a_manager_approves_a_refund_over_the_threshold_in_the_admin_queue(
    page, live_server, transactional_db, workspace, ticket, manager
):
    make_order(workspace, "A1002", total="250.00")
    run = AgentRun.objects.create(workspace=workspace, ticket=ticket, confidence=0.88, reason="refund within policy")
    action = held_refund(ticket, amount="150.00", run=run)
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])

    page.goto(f"{live_server.url}/admin/login/?next=/admin/ai/actionrequest/")
    page.fill("#id_username", manager.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/ai/actionrequest/")
    assert (
        "Refund 150.00 USD on order A1002 to the original payment method" in page.locator("#result_list").inner_text()
    )

    page.click(f"#result_list a[href$='/admin/ai/actionrequest/{action.pk}/change/']")
    page.wait_for_selector("#approve-button")
    assert "your refund for order A1002" in page.locator("#id_reply").input_value()
    assert "AI confidence: 88%" in page.locator(".ai-reasons").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "approvals-admin-review.png"), full_page=True)
    page.fill("#id_note", "Within policy, approved")
    page.click("#approve-button")
    page.wait_for_url("**/admin/ai/actionrequest/")
    assert "approved, executed" in page.locator(".messagelist").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "approvals-admin-approved.png"), full_page=True)

    action.refresh_from_db()
    assert action.status == ActionStatus.EXECUTED and action.note == "Within policy, approved"
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1
    assert AuditEvent.objects.filter(kind="action.executed").count() == 1
    reply = Message.objects.get(ticket=ticket, kind="reply")
    assert reply.author_kind == "ai" and reply.body.startswith(DRAFT)
    assert "Refund confirmation: 150.00 USD on order A1002" in reply.body
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    assert ActionRequest.objects.filter(status=ActionStatus.PENDING).count() == 0

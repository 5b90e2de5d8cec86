from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ai.models import ActionRequest, ActionStatus, AgentRun, HttpAction, ToolPermission
from ai.tests import tools_support
from ai.tests.tools_support import held_refund, make_order, verified
from audit.models import AuditEvent
from conftest import PASSWORD
from helpdesk.models import Message
from helpdesk.services import ticket_create

shop = tools_support.shop  # the fixture, shared with the other tools tests

QUEUE = "/admin/ai/actionrequest/"


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def manager_client(client, manager):
    client.login(username=staff(manager).username, password=PASSWORD)
    return client


def second_ticket(workspace, subject="Refund please"):
    return verified(
        ticket_create(
            workspace=workspace,
            channel="email",
            customer_email="carla@customer.test",
            subject=subject,
            body="Refund A1002",
        )
    )


def test_it_lists_pending_requests_first_oldest_first(manager_client, ticket, shop, manager, workspace):
    older = held_refund(ticket, amount="120.00")
    newer = held_refund(second_ticket(workspace), amount="130.00")
    done = held_refund(second_ticket(workspace, "Done one"), amount="110.00", order="A1002")
    ActionRequest.objects.filter(pk=done.pk).update(status=ActionStatus.REJECTED)
    ActionRequest.objects.filter(pk=older.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    response = manager_client.get(QUEUE)
    assert response.status_code == 200
    ids = [a.pk for a in response.context["cl"].result_list]
    assert ids == [older.pk, newer.pk, done.pk]


def test_it_shows_the_conversation_draft_and_confidence_and_decides(manager_client, ticket, shop, workspace):
    run = AgentRun.objects.create(
        workspace=workspace, ticket=ticket, confidence=0.91, reason="refund within policy", decision="awaiting_approval"
    )
    action = held_refund(ticket, run=run)
    page = manager_client.get(f"{QUEUE}{action.pk}/change/").content.decode()
    assert "my order A1001 has not arrived yet" in page
    assert "your refund for order A1002 is on its way" in page
    assert "AI confidence:</strong> 91%" in page and "refund within policy" in page
    assert 'id="approve-button"' in page
    response = manager_client.post(f"{QUEUE}{action.pk}/decide/", {"decision": "approve", "note": "ok"})
    assert response.status_code == 302
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.EXECUTED
    assert Message.objects.filter(ticket=ticket, kind="reply", author_kind="ai").count() == 1


def test_it_rejects_in_bulk_with_a_note_from_an_intermediate_form(manager_client, ticket, shop, workspace):
    one = held_refund(ticket)
    two = held_refund(second_ticket(workspace), amount="120.00")
    data = {"action": "reject_selected", "_selected_action": [one.pk, two.pk]}
    confirm = manager_client.post(QUEUE, data)
    assert confirm.status_code == 200 and b"id_note" in confirm.content
    manager_client.post(QUEUE, {**data, "apply": "1", "note": "Out of policy this week"})
    assert set(ActionRequest.objects.values_list("status", flat=True)) == {ActionStatus.REJECTED}
    assert AuditEvent.objects.filter(kind="action.rejected", data__reason="Out of policy this week").count() == 2


def test_it_approves_in_bulk(manager_client, ticket, shop, workspace):
    make_order(workspace, "A2002", total="300.00")
    one = held_refund(ticket)
    two = held_refund(second_ticket(workspace), amount="120.00", order="A2002")
    data = {"action": "approve_selected", "_selected_action": [one.pk, two.pk], "apply": "1", "note": ""}
    manager_client.post(QUEUE, data)
    assert set(ActionRequest.objects.values_list("status", flat=True)) == {ActionStatus.EXECUTED}
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 2


def test_agents_see_the_queue_but_cannot_decide(client, agent, ticket, shop):
    action = held_refund(ticket)
    client.login(username=staff(agent).username, password=PASSWORD)
    listing = client.get(QUEUE)
    assert listing.status_code == 200 and action in listing.context["cl"].result_list
    assert "approve_selected" not in listing.content.decode()
    page = client.get(f"{QUEUE}{action.pk}/change/").content.decode()
    assert 'id="approve-button"' not in page and "Only managers and admins decide" in page
    client.post(f"{QUEUE}{action.pk}/decide/", {"decision": "approve"})
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.PENDING


def test_outsiders_do_not_see_other_workspaces_requests(client, outsider, ticket, shop):
    action = held_refund(ticket)
    client.login(username=staff(outsider).username, password=PASSWORD)
    assert action not in client.get(QUEUE).context["cl"].result_list
    client.post(f"{QUEUE}{action.pk}/decide/", {"decision": "approve"})
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.PENDING


def test_it_audits_allow_list_changes_and_never_records_the_secret(manager_client, workspace):
    permission = ToolPermission.objects.get(workspace=workspace, tool="issue_refund")
    response = manager_client.post(
        f"/admin/ai/toolpermission/{permission.pk}/change/",
        {"workspace": workspace.pk, "tool": "issue_refund", "enabled": "on", "max_amount": "75.00"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.filter(kind="settings.changed").latest("seq")
    assert event.data["before"]["enabled"] is False and event.data["after"]["enabled"] is True
    response = manager_client.post(
        "/admin/ai/httpaction/add/",
        {
            "workspace": workspace.pk,
            "name": "extend_warranty",
            "description": "Extend",
            "kind": "write",
            "method": "post",
            "url_template": "https://shop.test/w/{order}",
            "args_schema": '{"type": "object"}',
            "amount_arg": "",
            "timeout_seconds": "5",
            "secret": "hunter2-secret",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    action = HttpAction.objects.get(name="extend_warranty")
    assert action.secret == "hunter2-secret" and action.method == "POST"
    assert ToolPermission.objects.get(workspace=workspace, tool="extend_warranty").enabled is False
    assert "hunter2" not in str(list(AuditEvent.objects.values_list("data", flat=True)))


def test_it_refuses_a_broken_url_template_or_schema(manager_client, workspace):
    response = manager_client.post(
        "/admin/ai/httpaction/add/",
        {
            "workspace": workspace.pk,
            "name": "bad",
            "description": "x",
            "kind": "write",
            "method": "POST",
            "url_template": "https://shop.test/{order.__class__}",
            "args_schema": '{"type": "nope"}',
            "timeout_seconds": "5",
        },
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "url_template" in errors and "args_schema" in errors


def test_the_approvals_page_lets_managers_decide(manager_client, ticket, shop):
    action = held_refund(ticket)
    page = manager_client.get("/approvals/")
    assert page.status_code == 200 and f"action-{action.pk}" in page.content.decode()
    manager_client.post(f"/approvals/{action.pk}/decide/", {"decision": "reject", "note": "no"})
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.REJECTED


def test_the_approvals_page_reads_held_actions_in_the_same_queries_however_many(
    manager_client, ticket, shop, workspace, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def held(number):
        make_order(workspace, number, total="250.00")
        return held_refund(second_ticket(workspace), order=number.lower())  # typed in any case

    held("C1")
    waiting = held("C2")
    ActionRequest.objects.filter(pk=waiting.pk).update(status=ActionStatus.WAITING_RETURN, decided_at=timezone.now())
    with CaptureQueriesContext(connection) as two:
        assert manager_client.get("/approvals/").status_code == 200
    for number in ("C3", "C4", "C5", "C6"):
        held(number)
    with django_assert_max_num_queries(len(two)):
        page = manager_client.get("/approvals/")
    assert page.status_code == 200
    assert [r.order.order.number for r in page.context["pending"]] == ["C1", "C3", "C4", "C5", "C6"]
    assert [r.order.order.number for r in page.context["waiting_return"]] == ["C2"]


def test_the_approvals_page_says_when_the_refund_after_the_return_failed(
    manager_client, ticket, shop, workspace, manager
):
    from django.db.models import F

    from ai.models import RefundTiming, ShopPolicy
    from ai.tools.approvals import action_approve
    from helpdesk.models import Order

    ShopPolicy.objects.create(workspace=workspace, refund_timing=RefundTiming.AFTER_RETURN)
    action = held_refund(ticket, amount="30.00")
    assert action_approve(action=action, user=manager).status == ActionStatus.WAITING_RETURN
    # Meanwhile the order was refunded in full elsewhere: the refund cannot be paid.
    Order.objects.filter(number="A1002").update(refunded_total=F("total"))
    page = manager_client.post(f"/approvals/{action.pk}/decide/", {"decision": "return_arrived"}, follow=True)
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.FAILED
    said = [str(m) for m in page.context["messages"]]
    assert said == [
        "The refund failed (order A1002 has already been refunded); nothing was sent and the ticket went to the team."
    ]

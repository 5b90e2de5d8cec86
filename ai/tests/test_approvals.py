from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ai.models import ActionRequest, ActionStatus, AgentRun, ApprovalRule, DraftFeedback
from ai.tests import tools_support
from ai.tests.tools_support import DRAFT, enable, held_refund
from ai.tools import (
    REPLY_TOOL,
    AlreadyDecided,
    ToolCall,
    action_approve,
    action_reject,
    action_request_create,
    approval_required_for_reply,
    tool_check,
)
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.api_tokens import api_token_create
from helpdesk.models import Message, Order, TicketStatus

shop = tools_support.shop  # the fixture, shared with the other tools tests


def kinds(ticket):
    return list(AuditEvent.objects.filter(ticket=ticket).order_by("seq").values_list("kind", flat=True))


def test_it_queues_a_held_action_and_shows_the_ticket_waiting(ticket, shop):
    action = held_refund(ticket)
    assert action.status == ActionStatus.PENDING and str(action.amount) == "150.00"
    assert action.rule["amount_over"] == "100.00"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL and ticket.ai_decision == "awaiting_approval"
    event = AuditEvent.objects.get(kind="action.requested")
    assert event.data == {
        "action": action.pk,
        "tool": "issue_refund",
        "args": {"order_number": "A1002", "amount": "150.00"},
        "amount": "150.00",
        "note": "",
        "run": None,
    }


def test_it_executes_an_approved_refund_once_and_sends_the_reply_with_the_result(ticket, shop, manager):
    run = AgentRun.objects.create(workspace=ticket.workspace, ticket=ticket, confidence=0.93)
    action = held_refund(ticket, run=run)
    done = action_approve(action=action, user=manager, note="ok")
    assert done.status == ActionStatus.EXECUTED and done.decided_by == manager and done.executed_at
    assert done.result["confirmation"].startswith("RF-")
    refunds = AuditEvent.objects.filter(kind="shop.refund_issued")
    assert [(e.data["order"], e.data["amount"]) for e in refunds] == [("A1002", "150.00")]
    reply = Message.objects.get(ticket=ticket, kind="reply")
    assert reply.author_kind == "ai" and reply.body.startswith(DRAFT)
    assert f"Refund confirmation: 150.00 USD on order A1002 (reference {done.result['confirmation']})." in reply.body
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING
    assert [k for k in kinds(ticket) if k.startswith(("action.", "shop.", "ai.", "feedback."))][1:] == [
        "action.approved",
        "feedback.recorded",
        "shop.refund_issued",
        "ai.tool_called",
        "action.executed",
    ]
    assert DraftFeedback.objects.get(run=run).verdict == "approved"
    with pytest.raises(AlreadyDecided):
        action_approve(action=action, user=manager)
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1
    assert Message.objects.filter(ticket=ticket, kind="reply").count() == 1


def test_it_lets_only_managers_decide_and_never_the_requester(ticket, shop, agent, manager, outsider):
    action = held_refund(ticket, actor=Actor.for_user(manager))
    with pytest.raises(PermissionDenied, match="Only managers and admins"):
        action_approve(action=action, user=agent)
    with pytest.raises(PermissionDenied, match="Only managers and admins"):
        action_approve(action=action, user=outsider)
    with pytest.raises(PermissionDenied, match="another manager must decide"):
        action_approve(action=action, user=manager)
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING
    assert not AuditEvent.objects.filter(kind__in=["action.approved", "shop.refund_issued"]).exists()


def test_it_rejects_with_a_reason_sends_nothing_and_hands_the_ticket_to_a_human(ticket, shop, manager):
    action = held_refund(ticket)
    with pytest.raises(ValidationError):
        action_reject(action=action, user=manager, note="  ")
    done = action_reject(action=action, user=manager, note="Customer already got store credit")
    assert done.status == ActionStatus.REJECTED and done.note == "Customer already got store credit"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.ai_decision == "escalate"
    assert "store credit" in ticket.ai_reason
    assert not Message.objects.filter(ticket=ticket, kind="reply").exists()
    assert not AuditEvent.objects.filter(kind="shop.refund_issued").exists()
    event = AuditEvent.objects.get(kind="action.rejected")
    assert event.data["reason"] == "Customer already got store credit" and event.actor == manager.email
    assert "ticket.handed_off" in kinds(ticket)
    with pytest.raises(AlreadyDecided):
        action_approve(action=action, user=manager)


def test_it_hands_off_when_the_approved_action_fails_and_sends_nothing(ticket, shop, manager):
    action = held_refund(ticket)
    Order.objects.filter(number="A1002").update(status="shipped", delivered_at=None)  # changed meanwhile
    done = action_approve(action=action, user=manager)
    assert done.status == ActionStatus.FAILED and "in transit" in done.result["reason"]
    assert not Message.objects.filter(ticket=ticket, kind="reply").exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.ai_decision == "escalate"
    assert AuditEvent.objects.get(kind="action.failed").data["reason"].startswith("order A1002 is in transit")


def test_it_holds_every_action_and_reply_on_a_type_with_a_type_only_rule(ticket, shop, manager):
    enable(ticket.workspace, "issue_refund")
    assert approval_required_for_reply(ticket=ticket) is None
    ticket.ticket_type = "refund"
    ticket.save(update_fields=["ticket_type"])
    ApprovalRule.objects.create(workspace=ticket.workspace, ticket_type="refund")
    rule = approval_required_for_reply(ticket=ticket)
    assert rule is not None
    assert rule["ticket_type"] == "refund" and rule["tool"] is None
    small = tool_check(ticket=ticket, call=ToolCall("issue_refund", {"order_number": "A1001", "amount": "5"}))
    assert small.requires_approval and small.rule is not None
    assert small.rule["ticket_type"] == "refund"
    read = tool_check(ticket=ticket, call=ToolCall("lookup_order", {"order_number": "A1001"}))
    assert not read.requires_approval
    other_channel = ApprovalRule.objects.create(workspace=ticket.workspace, ticket_type="legal", channel="chat")
    assert other_channel.pk != rule["id"]
    reply_check = tool_check(ticket=ticket, call=ToolCall("lookup_order", {"order_number": "A1001"}))
    action = action_request_create(
        ticket=ticket,
        run=None,
        call=ToolCall(REPLY_TOOL, {}),
        check=reply_check,
        reply_draft="Hello!",
        actor=Actor.ai("local"),
    )
    done = action_approve(action=action, user=manager)
    assert done.status == ActionStatus.EXECUTED
    assert Message.objects.get(ticket=ticket, kind="reply").body == "Hello!"


def test_it_decides_through_the_api_for_managers_only(client, ticket, shop, agent, manager):
    action = held_refund(ticket)
    _, agent_key = api_token_create(workspace=ticket.workspace, user=agent, name="a", actor=Actor.system("t"))
    _, manager_key = api_token_create(workspace=ticket.workspace, user=manager, name="m", actor=Actor.system("t"))
    listed = client.get("/api/v1/actions/?status=pending", HTTP_AUTHORIZATION=f"Bearer {agent_key}").json()
    assert [a["id"] for a in listed["results"]] == [action.pk]
    url = f"/api/v1/actions/{action.pk}/approve/"
    assert client.post(url, HTTP_AUTHORIZATION=f"Bearer {agent_key}").status_code == 403
    response = client.post(url, {"note": "fine"}, HTTP_AUTHORIZATION=f"Bearer {manager_key}")
    assert response.status_code == 200 and response.json()["status"] == "executed"
    assert client.post(url, HTTP_AUTHORIZATION=f"Bearer {manager_key}").status_code == 409
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1


def test_it_hides_requests_of_other_workspaces_from_the_api(client, ticket, shop, outsider, other_workspace):
    action = held_refund(ticket)
    _, key = api_token_create(workspace=other_workspace, user=outsider, name="o", actor=Actor.system("t"))
    response = client.post(f"/api/v1/actions/{action.pk}/reject/", {"note": "x"}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 404
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.PENDING


def test_it_sends_one_reply_when_the_last_action_of_a_run_is_approved(ticket, shop, manager, workspace):
    run = AgentRun.objects.create(workspace=workspace, ticket=ticket)
    first = held_refund(ticket, amount="120.00", run=run)
    second = held_refund(ticket, amount="110.00", run=run)
    action_approve(action=first, user=manager)
    assert not Message.objects.filter(ticket=ticket, kind="reply").exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.AWAITING_APPROVAL
    action_approve(action=second, user=manager)
    reply = Message.objects.get(ticket=ticket, kind="reply")
    assert reply.body.count("Refund confirmation:") == 2 and "120.00 USD" in reply.body and "110.00 USD" in reply.body


def test_it_sends_no_reply_when_part_of_the_runs_plan_was_rejected(ticket, shop, manager, workspace):
    run = AgentRun.objects.create(workspace=workspace, ticket=ticket)
    first = held_refund(ticket, amount="120.00", run=run)
    second = held_refund(ticket, amount="110.00", run=run)
    action_reject(action=first, user=manager, note="too much")
    assert action_approve(action=second, user=manager).status == ActionStatus.EXECUTED
    assert not Message.objects.filter(ticket=ticket, kind="reply").exists()
    ticket.refresh_from_db()
    assert ticket.ai_decision == "escalate"

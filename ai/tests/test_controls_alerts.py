from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from ai.models import ActionRequest, AgentRun, AlertSettings, AlertState
from ai.tasks_controls import alerts_check, controls_alerts_task
from audit.models import AuditEvent
from audit.services import Actor, audit_record
from helpdesk.services import ticket_create


@pytest.fixture
def sent(mailoutbox, django_capture_on_commit_callbacks):
    def check(workspace, now=None):
        with django_capture_on_commit_callbacks(execute=True):
            kinds = alerts_check(workspace=workspace, now=now)
        return kinds

    return check


def _pending(ticket, hours_ago):
    action = ActionRequest.objects.create(
        workspace=ticket.workspace, ticket=ticket, tool="issue_refund", amount=Decimal("150.00"), requested_by="ai:x"
    )
    ActionRequest.objects.filter(pk=action.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))
    return action


def test_it_emails_managers_once_when_an_approval_waits_too_long(workspace, manager, agent, ticket, sent, mailoutbox):
    _pending(ticket, hours_ago=1)
    assert sent(workspace) == []
    action = _pending(ticket, hours_ago=3)
    assert sent(workspace) == ["approval_wait"]
    [email] = mailoutbox
    assert email.to == [manager.email] and "waiting over 120 min" in email.subject
    assert f"#{ticket.number} issue_refund" in email.body
    assert sent(workspace) == []  # same episode: no second email
    ActionRequest.objects.filter(pk=action.pk).update(status="approved")
    assert sent(workspace) == [] and not AlertState.objects.get(kind="approval_wait").active  # cleared
    _pending(ticket, hours_ago=2.5)
    assert sent(workspace) == ["approval_wait"] and len(mailoutbox) == 2
    assert AuditEvent.objects.filter(workspace=workspace, kind="alert.sent").count() == 2


def test_the_wait_is_configurable(workspace, manager, ticket, sent):
    AlertSettings.objects.create(workspace=workspace, approval_wait_minutes=30)
    _pending(ticket, hours_ago=1)
    assert sent(workspace) == ["approval_wait"]


def _runs(ticket, n, *, escalated, hours_ago):
    for i in range(n):
        run = AgentRun.objects.create(
            workspace=ticket.workspace,
            ticket=ticket,
            kind="agent",
            decision="escalate" if i < escalated else "autosend",
        )
        AgentRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=hours_ago))


def test_it_emails_when_the_escalation_rate_jumps(workspace, manager, ticket, sent, mailoutbox):
    _runs(ticket, 20, escalated=2, hours_ago=72)  # 10 % over the previous week
    _runs(ticket, 8, escalated=4, hours_ago=2)  # 50 %, but only 4 escalations
    assert sent(workspace) == []
    _runs(ticket, 1, escalated=1, hours_ago=1)  # 5 of 9: 56 %, x5.6
    assert sent(workspace) == ["escalation_jump"]
    assert "56%" in mailoutbox[0].subject and "5 of 9" in mailoutbox[0].body


def test_it_does_not_alert_when_the_rate_is_steady(workspace, manager, ticket, sent):
    _runs(ticket, 20, escalated=10, hours_ago=72)  # 50 % before
    _runs(ticket, 10, escalated=6, hours_ago=2)  # 60 % now: not x2
    assert sent(workspace) == []


def _failure(ticket, n):
    with transaction.atomic():
        audit_record(
            workspace=ticket.workspace,
            ticket=ticket,
            actor=Actor.ai("x"),
            kind="ai.failed",
            data={"run": n, "error": "timeout", "reason": "provider failure: timeout"},
        )


def test_it_emails_when_the_provider_fails_repeatedly(workspace, manager, ticket, sent, mailoutbox):
    _failure(ticket, 1)
    _failure(ticket, 2)
    assert sent(workspace) == []
    _failure(ticket, 3)
    assert sent(workspace) == ["provider_failures"]
    assert "failed 3 times" in mailoutbox[0].subject and "provider failure: timeout" in mailoutbox[0].body
    _failure(ticket, 4)
    assert sent(workspace) == []  # still the same episode
    # An hour later the failures are old: the alert re-arms.
    assert sent(workspace, now=timezone.now() + timedelta(hours=2)) == []
    assert not AlertState.objects.get(kind="provider_failures").active


def test_the_schedule_exists_and_the_task_runs(workspace, manager):
    schedule = Schedule.objects.get(name="ai.controls_alerts")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "ai.tasks_controls.controls_alerts_task",
        "I",
        15,
    )
    ticket_create(workspace=workspace, channel="email", customer_email="x@customer.test", subject="s", body="b")
    assert controls_alerts_task() == {"alerts_sent": 0, "caps_checked": 0}

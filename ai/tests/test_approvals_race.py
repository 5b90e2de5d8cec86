from __future__ import annotations

import threading

import pytest
from django.db import connection

from ai.models import ActionRequest, ActionStatus
from ai.tests.tools_support import held_refund, make_order
from ai.tools import AlreadyDecided, action_approve
from audit.models import AuditEvent
from audit.services import Actor
from conftest import make_user
from helpdesk.models import Message, Role
from helpdesk.services import membership_add


def race(*targets):
    barrier = threading.Barrier(len(targets))
    outcomes: list[object] = []

    def work(target):
        try:
            barrier.wait()
            outcomes.append(target())
        except Exception as exc:  # collected: the test asserts which ones lost
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_managers_approving_at_once_execute_the_refund_once_and_reply_once(workspace, ticket, manager):
    make_order(workspace, "A1002", total="250.00")
    second = make_user("max.manager@acme.test")
    membership_add(workspace=workspace, user=second, role=Role.MANAGER, actor=Actor.system("test"))
    action = held_refund(ticket)

    outcomes = race(
        lambda: action_approve(action=action, user=manager),
        lambda: action_approve(action=ActionRequest.objects.get(pk=action.pk), user=second),
    )

    won = [o for o in outcomes if isinstance(o, ActionRequest)]
    lost = [o for o in outcomes if isinstance(o, AlreadyDecided)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert ActionRequest.objects.get(pk=action.pk).status == ActionStatus.EXECUTED
    assert AuditEvent.objects.filter(kind="action.approved").count() == 1
    assert AuditEvent.objects.filter(kind="action.executed").count() == 1
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1
    assert Message.objects.filter(ticket=ticket, kind="reply", author_kind="ai").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_double_click_executes_once(workspace, ticket, manager):
    make_order(workspace, "A1002", total="250.00")
    action = held_refund(ticket)
    outcomes = race(*(lambda: action_approve(action=action, user=manager) for _ in range(3)))
    assert sum(isinstance(o, ActionRequest) for o in outcomes) == 1
    assert sum(isinstance(o, AlreadyDecided) for o in outcomes) == 2
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1
    assert Message.objects.filter(ticket=ticket, kind="reply").count() == 1

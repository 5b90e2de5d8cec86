from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Outcome, OutcomeStatus, Plan
from billing.services import _finalize_batch, outcome_confirm, plan_for
from billing.spend_cap import CAP_REACHED_REASON, month_start, spend_cap_check, spend_cap_enforce, spend_cap_status
from conftest import PASSWORD, make_user
from helpdesk.models import Role, Workspace
from helpdesk.services import membership_add, ticket_create, workspace_update


@pytest.fixture
def admin_user(workspace):
    user = make_user("ada.admin@acme.test")
    membership_add(workspace=workspace, user=user, role=Role.ADMIN, actor=Actor.system("test"))
    return user


@pytest.fixture
def capped(workspace):
    workspace_update(workspace=workspace, actor=Actor.system("test"), changes={"mode": "agent"})
    plan = plan_for(workspace)
    Plan.objects.filter(pk=plan.pk).update(monthly_spend_cap=Decimal("2.50"))
    return workspace


def _outcomes(workspace, n, *, status="confirmed", start=0):
    now = timezone.now()
    made = []
    for i in range(start, start + n):
        ticket = ticket_create(
            workspace=workspace,
            channel="email",
            customer_email=f"c{i}@customer.test",
            subject=f"Q{i}",
            body="Where?",
            created_at=now - timedelta(days=4),  # before the AI's reply: the finaliser keeps it
        )
        due = now - timedelta(minutes=5 + i)
        made.append(
            Outcome.objects.create(
                workspace=workspace,
                ticket=ticket,
                status=status,
                ai_replied_at=due - timedelta(hours=72),
                window_ends_at=due,
                resolved_at=None if status == "pending" else due,
                finalized_at=None if status == "pending" else now - timedelta(seconds=100 - i),
                price=Decimal("0.50"),
                currency="USD",
            )
        )
    return made


def _billed_this_month(workspace):
    return Outcome.objects.filter(
        workspace=workspace,
        status__in=[OutcomeStatus.CONFIRMED, OutcomeStatus.BILLED],
        resolved_at__gte=month_start(timezone.now()),
    ).aggregate(s=Sum("price", default=Decimal("0")))["s"]


def test_it_emails_the_admins_once_at_80_percent_and_switches_to_copilot_at_100(
    capped, admin_user, manager, mailoutbox, django_capture_on_commit_callbacks
):
    workspace = capped
    _outcomes(workspace, 3)  # 1.50 of 2.50: 60 %
    with django_capture_on_commit_callbacks(execute=True):
        status = spend_cap_enforce(workspace=workspace)
    assert (status.spent, status.percent, status.reached, len(mailoutbox)) == (Decimal("1.50"), 60, False, 0)

    _outcomes(workspace, 1, start=3)  # 2.00: 80 %
    with django_capture_on_commit_callbacks(execute=True):
        spend_cap_enforce(workspace=workspace)
        spend_cap_check(workspace=workspace)  # the schedule again: no second email
    [email] = mailoutbox
    assert email.to == [admin_user.email] and "80 %" in email.subject
    assert Workspace.objects.get(pk=workspace.pk).mode == "agent"

    _outcomes(workspace, 2, start=4)  # 3.00 would pass the cap: the last one is not charged
    with django_capture_on_commit_callbacks(execute=True):
        status = spend_cap_enforce(workspace=workspace)
    assert status.spent == Decimal("2.50") == _billed_this_month(workspace) and status.reached
    assert Workspace.objects.get(pk=workspace.pk).mode == "copilot"
    [zeroed] = Outcome.objects.filter(workspace=workspace, price=0)
    assert zeroed.evidence["spend_cap"]["price_before"] == "0.50"
    reached = AuditEvent.objects.get(workspace=workspace, kind="spend_cap.reached")
    assert reached.data["reason"] == CAP_REACHED_REASON and reached.data["mode"] == {"from": "agent", "to": "copilot"}
    assert AuditEvent.objects.get(workspace=workspace, kind="outcomes.capped").data["outcomes"] == [zeroed.pk]
    changed = AuditEvent.objects.filter(workspace=workspace, kind="workspace.settings_changed").last()
    assert changed is not None and changed.data == {"mode": {"from": "agent", "to": "copilot"}}
    assert len(mailoutbox) == 1


def test_a_customer_confirmation_past_the_cap_is_not_charged(capped):
    workspace = capped
    _outcomes(workspace, 5)  # exactly the cap
    [pending] = _outcomes(workspace, 1, status="pending", start=5)
    with transaction.atomic():  # what billing's outcome_confirm does once wired
        outcome_confirm(outcome=pending, actor=Actor.system("test"))
        spend_cap_enforce(workspace=workspace)
    pending.refresh_from_db()
    assert (pending.status, pending.price) == ("confirmed", Decimal("0.00"))
    assert _billed_this_month(workspace) == Decimal("2.50")


def test_it_switches_the_agent_back_on_the_next_month(capped):
    workspace = capped
    last_month = (month_start(timezone.now()) - timedelta(days=1)).date().replace(day=1)
    Plan.objects.filter(workspace=workspace).update(cap_reached_for=last_month)
    workspace_update(workspace=workspace, actor=Actor.system("test"), changes={"mode": "copilot"})
    status = spend_cap_check(workspace=workspace)
    assert not status.reached and Workspace.objects.get(pk=workspace.pk).mode == "agent"
    assert AuditEvent.objects.filter(workspace=workspace, kind="spend_cap.reset").count() == 1


def test_the_reports_page_shows_the_cap(client, capped, manager):
    _outcomes(capped, 5)
    spend_cap_enforce(workspace=capped)
    assert client.login(username=manager.email, password=PASSWORD)
    html = client.get("/reports/").content.decode()
    assert "2.50 of 2.50 USD (100 %)" in html and "Cap reached" in html
    assert spend_cap_status(workspace=capped).reached


@pytest.mark.django_db(transaction=True)
def test_the_cap_holds_when_outcomes_are_finalised_concurrently(capped):
    """Four finalisers at once, each confirming small batches and enforcing the cap in the same
    transaction (as billing's `_finalize_batch` does once wired): the month never passes 2.50."""
    workspace = capped
    _outcomes(workspace, 24, status="pending")
    assert Decimal("0.50") * 24 > Decimal("2.50")  # without the cap the month would bill 12.00
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    observed: list[Decimal] = []

    def finaliser() -> None:
        try:
            barrier.wait()
            while True:
                with transaction.atomic():
                    finalized, _voided = _finalize_batch(now=timezone.now(), batch_size=2)
                    if finalized:
                        spend_cap_enforce(workspace=workspace.pk)
                observed.append(_billed_this_month(workspace))
                if not finalized:
                    return
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finaliser) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert Outcome.objects.filter(workspace=workspace, status="confirmed").count() == 24
    assert max(observed) <= Decimal("2.50")
    assert _billed_this_month(workspace) == Decimal("2.50")
    assert Outcome.objects.filter(workspace=workspace, price__gt=0).count() == 5
    assert Workspace.objects.get(pk=workspace.pk).mode == "copilot"
    assert AuditEvent.objects.filter(workspace=workspace, kind="spend_cap.reached").count() == 1

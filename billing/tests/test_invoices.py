from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor, audit_verify_workspace
from billing.models import Invoice, InvoiceLine, LineKind, Outcome, OutcomeStatus, Plan
from billing.pricing import cost_per_outcome, monthly_costs
from billing.services import invoice_generate, outcomes_finalize_due
from billing.tests.conftest import after_window, ai_reply, customer_says, month_after, new_ticket
from helpdesk.services import ticket_reopen, ticket_resolve


def resolve_tickets(workspace: Any, count: int, start: int = 0) -> list[Any]:
    tickets = [new_ticket(workspace, start + n) for n in range(count)]
    for t in tickets:
        ai_reply(t)
    outcomes_finalize_due(now=after_window())
    return tickets


def the_month() -> tuple[int, int, Any]:
    return month_after(after_window() - timedelta(hours=1))


def test_it_issues_one_line_per_outcome_with_totals(workspace, plan):
    Plan.objects.filter(pk=plan.pk).update(tax_rate=Decimal("0.2000"))
    tickets = resolve_tickets(workspace, 3)
    year, month, now = the_month()
    invoice = invoice_generate(workspace=workspace, year=year, month=month, now=now)
    assert invoice.number == 1 and invoice.line_count == 3
    assert invoice.subtotal == Decimal("1.50") and invoice.credits == Decimal("0.00")
    assert invoice.tax == Decimal("0.30") and invoice.total == Decimal("1.80")
    lines = list(invoice.lines.order_by("id"))
    assert sorted(line.ticket_number for line in lines) == sorted(t.number for t in tickets)
    assert all(line.amount == Decimal("0.50") and line.kind == LineKind.CHARGE for line in lines)
    assert set(Outcome.objects.values_list("status", flat=True)) == {OutcomeStatus.BILLED}
    assert AuditEvent.objects.filter(kind="invoice.issued", data__invoice=invoice.pk).count() == 1
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


def test_re_running_a_month_returns_the_same_invoice(workspace, plan):
    resolve_tickets(workspace, 2)
    year, month, now = the_month()
    first = invoice_generate(workspace=workspace, year=year, month=month, now=now)
    lines = list(first.lines.values_list("id", "outcome_id", "amount"))
    # Another outcome appears later; the month's invoice must not change.
    resolve_tickets(workspace, 1, start=50)
    again = invoice_generate(workspace=workspace, year=year, month=month, now=now + timedelta(days=3))
    assert again.pk == first.pk and again.total == first.total
    assert list(again.lines.values_list("id", "outcome_id", "amount")) == lines
    assert Invoice.objects.count() == 1


def test_numbers_are_sequential_without_gaps(workspace, other_workspace, plan):
    year, month, now = the_month()
    invoices = []
    for k in range(3):
        resolve_tickets(workspace, 1, start=k)
        y, m = (year + (month + k - 1) // 12, (month + k - 1) % 12 + 1)
        invoices.append(invoice_generate(workspace=workspace, year=y, month=m, now=now + timedelta(days=95)))
        invoice_generate(workspace=workspace, year=y, month=m, now=now + timedelta(days=95))  # re-run
    with pytest.raises(ValidationError):
        invoice_generate(workspace=workspace, year=2026, month=13, now=now)
    assert [i.number for i in invoices] == [1, 2, 3]
    assert [i.line_count for i in invoices] == [1, 1, 1]


def test_it_refuses_an_empty_period_without_spending_a_number(workspace, other_workspace, plan):
    resolve_tickets(workspace, 1)
    year, month, now = the_month()
    with pytest.raises(ValidationError, match="Nothing to invoice"):
        invoice_generate(workspace=other_workspace, year=year, month=month, now=now)
    assert not Invoice.objects.filter(workspace=other_workspace).exists()
    assert not AuditEvent.objects.filter(workspace=other_workspace, kind="invoice.issued").exists()
    # The monthly schedule skips it and still invoices the workspace with outcomes.
    from billing.services import invoices_generate_month

    assert [i.workspace_id for i in invoices_generate_month(year=year, month=month, now=now)] == [workspace.pk]
    assert invoice_generate(workspace=workspace, year=year, month=month, now=now).number == 1


def test_it_refuses_a_month_that_is_not_over(workspace, plan):
    today = timezone.now()
    with pytest.raises(ValidationError):
        invoice_generate(workspace=workspace, year=today.year, month=today.month)
    assert not Invoice.objects.exists()


def test_a_reopen_after_billing_credits_the_next_invoice(workspace, plan, django_capture_on_commit_callbacks):
    [ticket, _other] = resolve_tickets(workspace, 2)
    year, month, now = the_month()
    first = invoice_generate(workspace=workspace, year=year, month=month, now=now)
    assert first.total == Decimal("1.00")
    customer_says(ticket, "The parcel never arrived after all, please help.", django_capture_on_commit_callbacks)
    outcome = Outcome.objects.get(ticket=ticket)
    assert outcome.status == OutcomeStatus.CREDITED
    # A later AI answer never bills the same ticket twice.
    assert ai_reply(ticket).status == OutcomeStatus.CREDITED
    y, m = (year + (month == 12), month % 12 + 1)
    second = invoice_generate(workspace=workspace, year=y, month=m, now=now + timedelta(days=32))
    credit = second.lines.get()
    assert credit.kind == LineKind.CREDIT and credit.amount == Decimal("-0.50") and credit.outcome_id == outcome.pk
    assert second.credits == Decimal("-0.50") and second.total == Decimal("-0.50")
    assert InvoiceLine.objects.filter(outcome=outcome).count() == 2


def test_trial_outcomes_are_recorded_at_zero(workspace, plan):
    Plan.objects.filter(pk=plan.pk).update(trial_ends_at=timezone.now() + timedelta(days=14))
    [ticket] = resolve_tickets(workspace, 1)
    outcome = Outcome.objects.get(ticket=ticket)
    assert outcome.price == Decimal("0.00")
    year, month, now = the_month()
    invoice = invoice_generate(workspace=workspace, year=year, month=month, now=now)
    assert invoice.line_count == 1 and invoice.total == Decimal("0.00")
    assert invoice.lines.get().amount == Decimal("0.00")


def test_lines_reconcile_with_the_outcomes_table(workspace, plan, django_capture_on_commit_callbacks):
    tickets = resolve_tickets(workspace, 4)
    voided = new_ticket(workspace, 99)
    ai_reply(voided)
    customer_says(voided, "Which carrier is it, though?", django_capture_on_commit_callbacks)  # never billed
    year, month, now = the_month()
    invoice_generate(workspace=workspace, year=year, month=month, now=now)
    customer_says(tickets[0], "No, this is not fixed, the parcel is lost.", django_capture_on_commit_callbacks)
    y, m = (year + (month == 12), month % 12 + 1)
    invoice_generate(workspace=workspace, year=y, month=m, now=now + timedelta(days=32))

    charged = InvoiceLine.objects.filter(kind=LineKind.CHARGE)
    billed_outcomes = Outcome.objects.filter(status__in=[OutcomeStatus.BILLED, OutcomeStatus.CREDITED])
    assert charged.count() == billed_outcomes.count()
    assert charged.aggregate(s=Sum("amount"))["s"] == billed_outcomes.aggregate(s=Sum("price"))["s"]
    credited = Outcome.objects.filter(status=OutcomeStatus.CREDITED)
    assert (
        InvoiceLine.objects.filter(kind=LineKind.CREDIT).aggregate(s=Sum("amount"))["s"]
        == -credited.aggregate(s=Sum("price"))["s"]
    )
    assert Outcome.objects.get(ticket=voided).invoice_lines.count() == 0
    for invoice in Invoice.objects.all():
        assert invoice.subtotal + invoice.credits == invoice.lines.aggregate(s=Sum("amount"))["s"]
        assert invoice.line_count == invoice.lines.count()


def test_the_calculator_prices_outcomes_like_the_invoice(workspace, plan):
    resolve_tickets(workspace, 3)
    year, month, now = the_month()
    invoice = invoice_generate(workspace=workspace, year=year, month=month, now=now)
    month_costs = monthly_costs(
        tickets=3,
        resolution_rate=Decimal("1"),
        attempts_per_ticket=Decimal("1"),
        seats=1,
        seat_price=plan.price_per_seat,
        attempt_price=plan.price_per_attempt,
        outcome_price=plan.price_per_outcome,
    )
    assert month_costs.per_outcome == invoice.subtotal == cost_per_outcome(outcomes=3, price=plan.price_per_outcome)


def test_a_staff_reopen_after_billing_credits_the_next_invoice(
    workspace, plan, manager, django_capture_on_commit_callbacks
):
    [ticket] = resolve_tickets(workspace, 1)
    year, month, now = the_month()
    invoice_generate(workspace=workspace, year=year, month=month, now=now)
    ticket_resolve(ticket=ticket, actor=Actor.for_user(manager))
    with django_capture_on_commit_callbacks(execute=True):
        ticket_reopen(ticket=ticket, actor=Actor.for_user(manager), reason="not actually fixed")
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.CREDITED

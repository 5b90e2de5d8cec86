from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection

from audit.models import AuditEvent
from billing.models import Invoice, InvoiceLine, Outcome, OutcomeStatus
from billing.services import invoice_generate, outcomes_finalize_due, plan_for
from billing.tests.conftest import after_window, ai_reply, month_after, new_ticket

N = 12


def run_twice(target: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[Exception] = []

    def work() -> None:
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_two_finalisers_at_once_finalise_and_bill_each_outcome_once(workspace):
    plan_for(workspace)
    for n in range(N):
        ai_reply(new_ticket(workspace, n))
    now = after_window()

    counts = run_twice(lambda: outcomes_finalize_due(now=now, batch_size=3))
    assert sum(counts) == N
    assert Outcome.objects.filter(status=OutcomeStatus.CONFIRMED).count() == N
    finalized = Counter(
        outcome_id
        for data in AuditEvent.objects.filter(kind="outcomes.finalized").values_list("data", flat=True)
        for outcome_id in data["outcomes"]
    )
    assert set(finalized) == set(Outcome.objects.values_list("pk", flat=True))
    assert set(finalized.values()) == {1}

    year, month, later = month_after(now - timedelta(hours=1))
    invoices = run_twice(lambda: invoice_generate(workspace=workspace, year=year, month=month, now=later))
    assert invoices[0].pk == invoices[1].pk
    assert Invoice.objects.count() == 1
    per_outcome = Counter(InvoiceLine.objects.values_list("outcome_id", flat=True))
    assert len(per_outcome) == N and set(per_outcome.values()) == {1}
    assert Outcome.objects.filter(status=OutcomeStatus.BILLED).count() == N

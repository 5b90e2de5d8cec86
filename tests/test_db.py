from __future__ import annotations

import pytest
from django.db import OperationalError, transaction
from psycopg.errors import DeadlockDetected

from oasis.db import retry_on_deadlock


def deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = DeadlockDetected("deadlock detected")
    return error


def test_it_runs_a_service_again_after_a_deadlock():
    calls: list[int] = []

    def service(*, value: int) -> int:
        calls.append(value)
        if len(calls) < 3:
            raise deadlock()
        return value * 2

    assert retry_on_deadlock(service)(value=21) == 42
    assert calls == [21, 21, 21]


def test_it_gives_up_and_never_retries_other_errors():
    def always() -> None:
        raise deadlock()

    with pytest.raises(OperationalError):
        retry_on_deadlock(always, attempts=2)()

    calls: list[int] = []

    def other() -> None:
        calls.append(1)
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        retry_on_deadlock(other)()
    assert calls == [1]


@pytest.mark.django_db
def test_it_never_retries_inside_a_callers_transaction():
    calls: list[int] = []

    def service() -> None:
        calls.append(1)
        raise deadlock()

    with pytest.raises(OperationalError), transaction.atomic():
        retry_on_deadlock(service)()
    assert calls == [1]

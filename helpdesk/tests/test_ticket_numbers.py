"""Ticket numbers come from a per-workspace sequence: a burst of new tickets never queues on a lock."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from helpdesk.models import Customer, Ticket
from helpdesk.services import ticket_create


def _create(workspace, email="new@customer.test", body="Hello"):
    return ticket_create(
        workspace=workspace, channel="chat", customer_email=email, customer_name="", subject="", body=body
    )


@pytest.mark.django_db(transaction=True)
def test_a_new_ticket_does_not_wait_for_another_open_transaction(workspace):
    _create(workspace, "first@customer.test")  # the workspace's sequence exists from here
    holding = threading.Event()
    release = threading.Event()
    errors: list[Exception] = []

    def slow() -> None:
        try:
            with transaction.atomic():
                _create(workspace, "slow@customer.test")
                holding.set()
                release.wait(10)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    assert holding.wait(10)
    started = time.monotonic()
    quick = _create(workspace, "quick@customer.test")  # a sequence draws without the workspace row lock
    waited = time.monotonic() - started
    release.set()
    thread.join()
    assert errors == [] and waited < 2
    numbers = sorted(Ticket.objects.filter(workspace=workspace).values_list("number", flat=True))
    assert numbers == [1, 2, 3] and quick.number == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_messages_from_one_new_address_make_one_customer(workspace):
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def write(i: int) -> None:
        try:
            barrier.wait()
            _create(workspace, "Same@Customer.test", body=f"Message {i}")
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Customer.objects.filter(workspace=workspace, email__iexact="same@customer.test").count() == 1
    numbers = sorted(Ticket.objects.filter(workspace=workspace).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4]


def test_it_skips_numbers_taken_by_other_means(workspace, ticket):
    assert ticket.number == 1
    # An import wrote ticket 2 and 3 itself: the sequence moves past them.
    for n in (2, 3):
        Ticket.objects.create(workspace=workspace, number=n, customer=ticket.customer, subject="imported")
    assert _create(workspace).number == 4
    assert _create(workspace).number == 5

"""A transaction's audit events join the chain at its end: one lock, one INSERT, just before COMMIT."""

from __future__ import annotations

import itertools
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.services import GENESIS_HASH, Actor, audit_record, audit_verify_workspace, verify_chain
from helpdesk.models import Ticket, Workspace

SYSTEM = Actor.system("test")


def _record(workspace, ticket=None, n=1):
    return audit_record(workspace=workspace, ticket=ticket, actor=SYSTEM, kind="test.event", data={"n": n})


def test_it_writes_a_transactions_events_at_its_end_with_one_lock(ticket):
    workspace = ticket.workspace
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        first = _record(workspace, ticket, 1)
        second = _record(workspace, ticket, 2)
        Ticket.objects.filter(pk=ticket.pk).update(subject="Where is A1001?")
        third = _record(workspace, None, 3)
        assert first.pk is None  # not written yet: no chain lock held while the work goes on
    sql = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert sum("pg_advisory_xact_lock" in s for s in sql) == 1
    # The ticket update came first; then the lock (and the chain's end), then one INSERT.
    assert 'UPDATE "helpdesk_ticket"' in sql[0] and "pg_advisory_xact_lock" in sql[1]
    assert sql[2].startswith('INSERT INTO "audit_auditevent"') and len(sql) == 3
    assert (second.seq, second.prev_hash) == (first.seq + 1, first.hash)
    assert (third.seq, third.prev_hash) == (second.seq + 1, second.hash)
    stored = AuditEvent.objects.get(pk=second.pk)
    assert (stored.hash, stored.data, stored.created_at) == (second.hash, {"n": 2}, second.created_at)
    assert first.created_at <= second.created_at <= third.created_at
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


def test_it_reads_its_own_events_inside_the_transaction(ticket):
    with transaction.atomic():
        event = _record(ticket.workspace, ticket, 7)
        # A read of the log in the same transaction writes the pending events first, so it
        # sees what the transaction recorded.
        assert AuditEvent.objects.filter(kind="test.event", data__n=7).count() == 1
        assert event.pk is not None and event.seq is not None
        later = _record(ticket.workspace, ticket, 8)
    assert (later.seq, later.prev_hash) == (event.seq + 1, event.hash)
    assert audit_verify_workspace(workspace_id=ticket.workspace_id).ok


def test_it_drops_the_events_of_a_savepoint_that_rolled_back(ticket):
    workspace = ticket.workspace
    with transaction.atomic():
        kept = _record(workspace, ticket, 1)
        with pytest.raises(RuntimeError), transaction.atomic():
            _record(workspace, ticket, 2)
            _record(workspace, ticket, 3)
            raise RuntimeError("roll the savepoint back")
        after = _record(workspace, ticket, 4)
        with transaction.atomic():
            inner = _record(workspace, ticket, 5)
        last = _record(workspace, ticket, 6)
    assert (after.seq, after.prev_hash) == (kept.seq + 1, kept.hash)
    assert (inner.seq, last.seq) == (after.seq + 1, after.seq + 2)
    assert [e.data["n"] for e in AuditEvent.objects.filter(kind="test.event").order_by("seq")] == [1, 4, 5, 6]
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


@pytest.mark.django_db(transaction=True)
def test_a_failing_append_rolls_the_whole_change_back(ticket):
    ghost = Workspace(pk=ticket.workspace_id + 1000, name="Ghost", slug="ghost")  # never saved
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(subject="changed")
        _record(ticket.workspace, ticket, 1)
        _record(ghost, None, 2)  # its foreign key fails at commit
    ticket.refresh_from_db()
    assert ticket.subject != "changed"
    assert not AuditEvent.objects.filter(kind="test.event").exists()
    # The connection is usable and the chain intact afterwards.
    with transaction.atomic():
        _record(ticket.workspace, ticket, 3)
    assert audit_verify_workspace(workspace_id=ticket.workspace_id).ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_keep_one_gapless_chain(workspace):
    """Four writers, three events per transaction each, on one workspace."""
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                with transaction.atomic():
                    for k in range(3):
                        _record(workspace, None, i * 100 + j * 10 + k)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = list(AuditEvent.objects.filter(workspace=workspace).order_by("seq"))
    rows = [{**e.hashed_fields(), "hash": e.hash} for e in events]
    assert verify_chain(rows, start_prev_hash=GENESIS_HASH, start_seq=1).ok
    assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(events))
    mine = [e for e in events if e.kind == "test.event"]
    assert len(mine) == 60
    # A transaction's three events are contiguous: nobody appended between them.
    for start in range(0, 60, 3):
        ns = [e.data["n"] for e in mine[start : start + 3]]
        assert ns[1] == ns[0] + 1 and ns[2] == ns[0] + 2


def test_the_refund_ledger_sees_a_refund_made_earlier_in_the_same_transaction(workspace, ticket):
    """A second refund in one transaction sees the first's ledger row; its audit event is written once."""
    from decimal import Decimal

    from ai.tools.base import ToolFailed
    from ai.tools.connector import DbShopConnector
    from helpdesk.shop import orders_load

    orders_load(
        workspace=workspace,
        data={
            "orders": [
                {
                    "number": "R1",
                    "customer_email": ticket.customer.email,
                    "status": "delivered",
                    "placed_at": "2026-11-01T10:00:00Z",
                    "shipped_at": "2026-11-02T10:00:00Z",
                    "delivered_at": "2026-11-04T10:00:00Z",
                    "currency": "USD",
                    "total": "40.00",
                    "items": [{"sku": "JKT", "name": "Jacket", "qty": 1, "price": "40.00", "final_sale": False}],
                }
            ]
        },
        actor=SYSTEM,
    )
    shop = DbShopConnector(ticket=ticket, actor=SYSTEM)
    with transaction.atomic():
        order = shop.get_order("R1")
        assert order is not None
        first = shop.issue_refund(order, amount=Decimal("30.00"), reason="damaged", key="k-1")
        # The same key again: the recorded result, not a second refund.
        assert shop.issue_refund(order, amount=Decimal("30.00"), reason="damaged", key="k-1") == first
        # Another key: only 10.00 is left, although the first refund is not committed yet.
        with pytest.raises(ToolFailed, match=r"only 10\.00"):
            shop.issue_refund(order, amount=Decimal("30.00"), reason="again", key="k-2")
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1

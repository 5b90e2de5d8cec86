"""The built-in shop decides from its ledger (`ShopMovement`), never from the audit log: pruning the
log changes no refund limit and no retry, and the database refuses a refunded total above an order's."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from ai.tests.test_approvals_race import race
from ai.tests.tools_support import enable, make_order
from ai.tools import ToolCall, tool_execute
from ai.tools.base import ToolFailed
from ai.tools.connector import DbShopConnector
from audit.export import audit_prune
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Order, OrderStatus, ShopMovement, ShopMovementKind, Ticket

AI = Actor.ai("test")


def run(ticket, tool, **args):
    return tool_execute(ticket=ticket, call=ToolCall(tool, args), actor=AI)


def prune_everything(workspace, tmp_path, name="archive.jsonl"):
    result = audit_prune(
        workspace=workspace,
        before=timezone.now() + timedelta(days=1),
        archive=tmp_path / name,
        actor=Actor.system("retention"),
    )
    assert result.pruned > 0
    assert not AuditEvent.objects.filter(workspace=workspace, kind__startswith="shop.").exists()


def order_info(shop, number):
    order = shop.get_order(number)
    assert order is not None
    return order


def refunded(number):
    order = Order.objects.get(number=number)
    amounts = order.movements.filter(kind=ShopMovementKind.REFUND).values_list("amount", flat=True)
    in_ledger = sum((a or Decimal(0) for a in amounts), Decimal(0))
    assert in_ledger == order.refunded_total
    return order.refunded_total


def test_it_refuses_to_refund_past_the_total_after_the_audit_log_is_pruned(workspace, ticket, tmp_path):
    make_order(workspace, "A1080", total="80.00")
    enable(workspace, "issue_refund")
    assert run(ticket, "issue_refund", order_number="A1080", amount="50.00").status == "executed"

    prune_everything(workspace, tmp_path)

    again = run(ticket, "issue_refund", order_number="A1080", amount="50.00")
    assert again.status == "refused" and "30.00 USD refundable" in again.reason
    shop = DbShopConnector(ticket=ticket, actor=AI)
    order = order_info(shop, "A1080")
    assert order.refunded == Decimal("50.00")
    assert shop.recent_orders(ticket.customer.email)[0].refunded == Decimal("50.00")
    # The connector itself refuses too, whatever the policy layer above it let through.
    with pytest.raises(ToolFailed, match=r"only 30\.00 USD of order A1080 is left to refund"):
        shop.issue_refund(order, amount=Decimal("50.00"), reason="again", key="after-prune")
    assert refunded("A1080") == Decimal("50.00")


def test_it_returns_the_first_result_to_a_retry_and_moves_no_money(workspace, ticket, tmp_path):
    make_order(workspace, "A1081", total="80.00")
    shop = DbShopConnector(ticket=ticket, actor=AI)
    first = shop.issue_refund(order_info(shop, "A1081"), amount=Decimal("30.00"), reason="scuffed", key="retry-1")
    assert first["confirmation"] == "RF-RETRY-1" and first["refunded_total"] == "30.00"

    prune_everything(workspace, tmp_path)
    again = shop.issue_refund(order_info(shop, "A1081"), amount=Decimal("30.00"), reason="scuffed", key="retry-1")

    assert again == first
    assert refunded("A1081") == Decimal("30.00")
    assert ShopMovement.objects.filter(workspace=workspace, key="retry-1").count() == 1
    assert not AuditEvent.objects.filter(kind="shop.refund_issued").exists()  # the retry recorded nothing


RETRIED_CALLS = {
    "replacement": lambda shop, order: shop.create_replacement(order, skus=["SKU-P1"], reason="torn", key="k-1"),
    "address_change": lambda shop, order: shop.update_shipping_address(order, address="2 Elm St", key="k-1"),
    "cancellation": lambda shop, order: shop.cancel_order(order, reason="changed my mind", key="k-1"),
    "password_reset": lambda shop, order: shop.send_password_reset(email=order.customer_email, key="k-1"),
    "email_change": lambda shop, order: shop.request_email_change(
        email=order.customer_email, new_email="new@customer.test", key="k-1"
    ),
    "appointment": lambda shop, order: shop.book_appointment(
        email=order.customer_email, when="2030-01-02T10:00", topic="fitting", key="k-1"
    ),
}


@pytest.mark.parametrize("kind", list(RETRIED_CALLS))
def test_it_runs_every_shop_movement_once_per_key_across_a_prune(workspace, ticket, tmp_path, kind):
    make_order(workspace, "P1", status=OrderStatus.PROCESSING, total="60.00")
    shop = DbShopConnector(ticket=ticket, actor=AI)
    first = RETRIED_CALLS[kind](shop, order_info(shop, "P1"))
    movement = ShopMovement.objects.get(workspace=workspace, key="k-1")
    assert (movement.kind, movement.result, movement.amount) == (kind, first, None)

    prune_everything(workspace, tmp_path)
    assert RETRIED_CALLS[kind](shop, order_info(shop, "P1")) == first

    assert ShopMovement.objects.filter(workspace=workspace).count() == 1
    assert not AuditEvent.objects.filter(kind__startswith="shop.").exists()


def test_it_refuses_a_key_already_used_for_another_movement_or_order(workspace, ticket):
    make_order(workspace, "A1082", total="80.00")
    make_order(workspace, "A1083", total="80.00")
    shop = DbShopConnector(ticket=ticket, actor=AI)
    order = order_info(shop, "A1082")
    shop.create_replacement(order, skus=["SKU-A1082"], reason="torn", key="shared")
    with pytest.raises(ToolFailed, match="already used for a replacement"):
        shop.issue_refund(order, amount=Decimal("10.00"), reason="and money", key="shared")
    with pytest.raises(ToolFailed, match="already used for another order"):
        shop.create_replacement(order_info(shop, "A1083"), skus=["SKU-A1083"], reason="torn", key="shared")
    assert refunded("A1082") == Decimal("0.00")


def _refund(ticket_pk, number, amount, key):
    def call():
        with transaction.atomic():
            shop = DbShopConnector(ticket=Ticket.objects.get(pk=ticket_pk), actor=AI)
            return shop.issue_refund(order_info(shop, number), amount=Decimal(amount), reason="race", key=key)

    return call


@pytest.mark.django_db(transaction=True)
def test_it_never_refunds_past_the_total_when_two_refunds_race(workspace, ticket):
    for number in ("R1", "R2", "R3"):
        make_order(workspace, number, total="100.00")
        outcomes = race(*(_refund(ticket.pk, number, "60.00", f"{number}-{side}") for side in "ab"))
        lost = [o for o in outcomes if isinstance(o, ToolFailed)]
        assert len([o for o in outcomes if isinstance(o, dict)]) == 1 and len(lost) == 1, outcomes
        assert f"only 40.00 USD of order {number}" in lost[0].reason
        assert refunded(number) == Decimal("60.00")


@pytest.mark.django_db(transaction=True)
def test_it_lets_the_database_refuse_a_racing_over_refund_even_without_the_row_lock(workspace, ticket, monkeypatch):
    """Both calls read 0.00 refunded and pass the connector's own check; the CHECK refuses the second."""
    both_read = threading.Barrier(2, timeout=30)

    def unlocked(self, number, kind, key):
        row = Order.objects.get(workspace=self.workspace, number=number)
        both_read.wait()  # neither has written yet
        return row, self._done(kind, key, row)

    monkeypatch.setattr(DbShopConnector, "_lock", unlocked)
    make_order(workspace, "U1", total="100.00")
    outcomes = race(_refund(ticket.pk, "U1", "60.00", "u-a"), _refund(ticket.pk, "U1", "60.00", "u-b"))
    lost = [o for o in outcomes if isinstance(o, ToolFailed)]
    assert len(lost) == 1, outcomes
    assert "refunds of order U1 may not exceed its total of 100.00" in lost[0].reason
    assert refunded("U1") == Decimal("60.00")
    assert ShopMovement.objects.filter(order__number="U1").count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_refunds_once_when_the_same_key_is_retried_concurrently(workspace, ticket):
    make_order(workspace, "S1", total="100.00")
    outcomes = race(*(_refund(ticket.pk, "S1", "100.00", "same-key") for _ in range(3)))
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert {o["confirmation"] for o in outcomes} == {"RF-SAME-KEY"}
    assert refunded("S1") == Decimal("100.00")
    assert ShopMovement.objects.filter(key="same-key").count() == 1
    assert AuditEvent.objects.filter(kind="shop.refund_issued").count() == 1

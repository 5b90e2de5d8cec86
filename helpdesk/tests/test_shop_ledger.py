"""The shop ledger's table, its database guarantees, its backfill from the audit log and its admin."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse

from ai.tests.test_shop_ledger import order_info
from ai.tests.tools_support import CUSTOMER, make_order
from ai.tools.connector import DbShopConnector
from audit.services import Actor, audit_record
from helpdesk.models import Order, ShopMovement, ShopMovementKind
from helpdesk.shop import orders_load
from helpdesk.tests.test_admin import login, staff_manager, staff_outsider  # noqa: F401 (fixtures)

SYSTEM = Actor.system("test")


def test_it_refuses_a_direct_update_past_the_order_total(workspace):
    order = make_order(workspace, "D1", total="80.00")
    with pytest.raises(IntegrityError, match="order_refunded_within_total"), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(refunded_total=F("total") + Decimal("0.01"))
    with pytest.raises(IntegrityError, match="order_refunded_within_total"), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(refunded_total=Decimal("-1.00"))
    Order.objects.filter(pk=order.pk).update(refunded_total=F("total"))
    assert Order.objects.get(pk=order.pk).refunded_total == Decimal("80.00")


def test_it_refuses_a_refund_without_a_positive_amount_and_a_repeated_key(workspace):
    order = make_order(workspace, "D2")
    row = {"workspace": workspace, "order": order, "actor": "t", "kind": ShopMovementKind.REFUND}
    with pytest.raises(IntegrityError, match="shopmovement_refund_amount"), transaction.atomic():
        ShopMovement.objects.create(**row, key="a", amount=Decimal("0.00"))
    with pytest.raises(IntegrityError, match="shopmovement_refund_amount"), transaction.atomic():
        ShopMovement.objects.create(**{**row, "kind": ShopMovementKind.REPLACEMENT}, key="b", amount=Decimal("5"))
    ShopMovement.objects.create(**row, key="c", amount=Decimal("5.00"))
    with pytest.raises(IntegrityError, match="shopmovement_unique_key"), transaction.atomic():
        ShopMovement.objects.create(**row, key="c", amount=Decimal("5.00"))


def _order_file(total):
    return {
        "orders": [
            {
                "number": "L1",
                "customer_email": CUSTOMER,
                "status": "delivered",
                "placed_at": "2026-11-01T10:00:00Z",
                "shipped_at": "2026-11-02T10:00:00Z",
                "delivered_at": "2026-11-04T10:00:00Z",
                "total": total,
                "items": [{"sku": "JKT", "name": "Jacket", "price": total}],
            }
        ]
    }


def test_it_refuses_to_load_a_total_below_what_was_refunded(workspace, ticket):
    orders_load(workspace=workspace, data=_order_file("80.00"), actor=SYSTEM)
    shop = DbShopConnector(ticket=ticket, actor=SYSTEM)
    shop.issue_refund(order_info(shop, "L1"), amount=Decimal("50.00"), reason="damaged", key="l1")

    with pytest.raises(ValidationError, match=r"order L1: total 40\.00 is below the 50\.00 USD already refunded"):
        orders_load(workspace=workspace, data=_order_file("40.00"), actor=SYSTEM)
    assert Order.objects.get(number="L1").total == Decimal("80.00")
    # Reloading the same total keeps the refunds: the ledger's total is not the file's to set.
    orders_load(workspace=workspace, data=_order_file("80.00"), actor=SYSTEM)
    assert Order.objects.get(number="L1").refunded_total == Decimal("50.00")


def _shop_event(ticket, kind, **data):
    with transaction.atomic():
        audit_record(workspace=ticket.workspace, ticket=ticket, actor=Actor.ai("old"), kind=kind, data=data)


def test_it_backfills_the_ledger_from_the_shop_audit_events_once(workspace, ticket, capsys):
    over = make_order(workspace, "B1", total="80.00")
    partial = make_order(workspace, "B2", total="100.00")
    _shop_event(ticket, "shop.refund_issued", order="B1", amount="50.00", key="k1", confirmation="RF-K1")
    _shop_event(ticket, "shop.refund_issued", order="B2", amount="25.00", key="", confirmation="RF-X")
    _shop_event(ticket, "shop.replacement_created", order="B2", skus=["S"], key="k2", confirmation="RP-K2")
    _shop_event(ticket, "shop.password_reset_sent", email=CUSTOMER, key="k3", confirmation="PR-K3")
    # The same key again, as after its first event was pruned and the refund retried: one refund per key.
    _shop_event(ticket, "shop.refund_issued", order="B1", amount="50.00", key="k1", confirmation="RF-K1")
    _shop_event(ticket, "ai.tool_called", tool="issue_refund", args={"order_number": "B1", "amount": "9"})

    migration = importlib.import_module("helpdesk.migrations.0006_shop_ledger")
    migration.backfill_ledger(apps, None)

    rows = list(ShopMovement.objects.filter(workspace=workspace).order_by("id"))
    assert [(m.kind, m.order_id, m.amount) for m in rows] == [
        ("refund", over.pk, Decimal("50.00")),
        ("refund", partial.pk, Decimal("25.00")),
        ("replacement", partial.pk, None),
        ("password_reset", None, None),
        ("refund", over.pk, Decimal("50.00")),
    ]
    assert rows[0].key == "k1" and rows[4].key.startswith("k1:audit-") and rows[1].key.startswith("audit-")
    assert rows[0].result["confirmation"] == "RF-K1" and rows[0].ticket_id == ticket.pk and rows[0].actor == "ai:old"
    # 100.00 was refunded on an order of 80.00: nothing more may be refunded, and the run says so.
    assert Order.objects.get(pk=over.pk).refunded_total == Decimal("80.00")
    assert Order.objects.get(pk=partial.pk).refunded_total == Decimal("25.00")
    assert "order B1" in capsys.readouterr().out
    shop = DbShopConnector(ticket=ticket, actor=SYSTEM)
    assert shop.issue_refund(order_info(shop, "B1"), amount=Decimal("50.00"), reason="r", key="k1") == rows[0].result
    assert shop.get_order("B2").refunded == Decimal("25.00")


def test_it_shows_previous_refunds_on_the_order_admin_page(client, ticket, staff_manager, staff_outsider):  # noqa: F811
    order = make_order(ticket.workspace, "A1090", total="80.00")
    shop = DbShopConnector(ticket=ticket, actor=SYSTEM)
    shop.issue_refund(order_info(shop, "A1090"), amount=Decimal("12.50"), reason="scuffed", key="adm-1")
    shop.issue_refund(order_info(shop, "A1090"), amount=Decimal("7.50"), reason="late", key="adm-2")
    url = reverse("admin:helpdesk_order_change", args=[order.pk])

    page = login(client, staff_manager).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "12.50" in html and "7.50" in html and "RF-ADM-1" in html and "RF-ADM-2" in html
    assert "20.00" in html  # the refunded total

    client.logout()
    assert login(client, staff_outsider).get(url).status_code in (302, 404)

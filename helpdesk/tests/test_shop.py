from __future__ import annotations

import copy
import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Order
from helpdesk.shop import orders_load

ACTOR = Actor.system("test")

ORDERS: dict[str, Any] = {
    "orders": [
        {
            "number": "A1001",
            "customer_email": "carla@customer.test",
            "status": "delivered",
            "placed_at": "2025-05-01T10:00:00Z",
            "shipped_at": "2025-05-02T10:00:00Z",
            "delivered_at": "2025-05-05",
            "carrier": "UPS",
            "tracking_number": "1Z999",
            "currency": "USD",
            "total": "109.95",
            "items": [
                {"sku": "JKT-M", "name": "Rain jacket", "size": "M", "qty": 1, "price": 89.95, "final_sale": False},
                {"sku": "GC-20", "name": "Gift card", "size": "", "qty": 1, "price": "20.00", "final_sale": True},
            ],
        },
        {
            "number": "A1002",
            "customer_email": "dan@customer.test",
            "status": "processing",
            "placed_at": "2025-05-10T08:30:00+02:00",
            "total": 24,
            "items": [{"sku": "SCK", "name": "Socks", "price": "24"}],
        },
    ]
}


def test_it_loads_orders_with_decimal_money_and_audits_once(workspace):
    result = orders_load(workspace=workspace, data=ORDERS, actor=ACTOR)
    assert (result.created, result.updated, result.items) == (2, 0, 3)
    order = Order.objects.get(workspace=workspace, number="A1001")
    assert order.total == Decimal("109.95")
    assert order.delivered_at is not None
    assert order.delivered_at.isoformat() == "2025-05-05T00:00:00+00:00"
    assert [(i.sku, i.price, i.final_sale) for i in order.items.order_by("sku")] == [
        ("GC-20", Decimal("20.00"), True),
        ("JKT-M", Decimal("89.95"), False),
    ]
    assert Order.objects.get(number="A1002").currency == "USD"
    event = AuditEvent.objects.get(workspace=workspace, kind="orders.loaded")
    assert event.data == {"created": 2, "updated": 0, "items": 3}


def test_it_upserts_by_number(workspace):
    orders_load(workspace=workspace, data=ORDERS, actor=ACTOR)
    changed = copy.deepcopy(ORDERS)
    changed["orders"][1]["status"] = "shipped"
    changed["orders"][1]["items"] = []
    result = orders_load(workspace=workspace, data=changed, actor=ACTOR)
    assert (result.created, result.updated) == (0, 2)
    order = Order.objects.get(workspace=workspace, number="A1002")
    assert order.status == "shipped"
    assert order.items.count() == 0
    assert Order.objects.filter(workspace=workspace).count() == 2


def test_it_loads_nothing_when_one_order_is_bad(workspace):
    bad = copy.deepcopy(ORDERS)
    bad["orders"][1].update(status="lost", placed_at="yesterday", total="-5")
    del bad["orders"][1]["customer_email"]
    bad["orders"].append(dict(ORDERS["orders"][0]))  # duplicate number
    bad["orders"].append(
        {
            "number": "A1009",
            "customer_email": "x@y.test",
            "status": "pending",
            "placed_at": "2025-05-01",
            "total": "1.999",
            "items": [{"sku": "S", "name": "N", "price": "1", "qty": 0}],
        }
    )
    with pytest.raises(ValidationError) as caught:
        orders_load(workspace=workspace, data=bad, actor=ACTOR)
    messages = caught.value.messages
    assert "order 2 (A1002): missing customer_email" in messages
    # The shop's own status word is never a problem (helpdesk.order_status maps it).
    assert not any("status" in m for m in messages)
    assert "order 2 (A1002): placed_at 'yesterday' is not an ISO 8601 date" in messages
    assert "order 2 (A1002): total -5 is negative" in messages
    assert "order 3 (A1001): number already used by order 1" in messages
    assert "order 4 (A1009): total 1.999 has more than two decimals" in messages
    assert "order 4 (A1009), item 1: qty 0 must be a whole number of at least 1" in messages
    assert not Order.objects.exists()
    assert not AuditEvent.objects.filter(kind="orders.loaded").exists()


def test_it_rejects_a_document_of_the_wrong_shape(workspace):
    with pytest.raises(ValidationError, match="orders"):
        orders_load(workspace=workspace, data={"items": []}, actor=ACTOR)


def test_it_loads_a_file_from_the_command_line(workspace, tmp_path):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps(ORDERS))
    out = StringIO()
    call_command("load_orders", str(path), "--workspace", "acme", stdout=out)
    assert "Loaded 2 orders into acme: 2 new, 0 updated, 3 items." in out.getvalue()
    path.write_text(json.dumps({"orders": [{"number": "X"}]}))
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_orders", str(path), "--workspace", "acme", stdout=out, stderr=err)
    assert "order 1 (X): missing customer_email" in err.getvalue()

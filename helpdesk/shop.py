"""The built-in shop connector: orders stored in the database, loaded from the DESIGN.md orders JSON.

`orders_load` validates the whole file before it writes anything, so a file with one bad order
changes nothing and reports every problem at once (numbered, with the order's number), rather
than leaving half a catalogue behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.services import Actor, audit_record
from helpdesk.models import Order, OrderItem, OrderStatus, Workspace
from helpdesk.order_status import status_key

REQUIRED_ORDER_FIELDS = ("number", "customer_email", "status", "placed_at", "total")
REQUIRED_ITEM_FIELDS = ("sku", "name", "price")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    items: int

    @property
    def total(self) -> int:
        return self.created + self.updated


@dataclass
class _CleanOrder:
    fields: dict[str, Any]
    items: list[dict[str, Any]]


class _Problems:
    """Collects the problems of one order under a readable label."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(f"{self.label}: {message}")


def _text(value: Any, *, name: str, problems: _Problems, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str | int):
        problems.add(f"{name} must be text")
        return ""
    text = str(value).strip()
    if required and not text:
        problems.add(f"{name} is empty")
    if len(text) > max_length:
        problems.add(f"{name} is longer than {max_length} characters")
    return text


def _datetime(value: Any, *, name: str, problems: _Problems) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        problems.add(f"{name} {value!r} is not an ISO 8601 date")
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            parsed = dt.datetime.combine(day, dt.time()) if day else None
    except ValueError:
        parsed = None
    if parsed is None:
        problems.add(f"{name} {value!r} is not an ISO 8601 date")
        return None
    if timezone.is_naive(parsed):
        # A date without an offset is taken as UTC, the same everywhere the file is loaded.
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def _money(value: Any, *, name: str, problems: _Problems) -> Decimal | None:
    # Floats are accepted as JSON numbers but go through str() so 19.99 stays 19.99.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.add(f"{name} {value!r} is not an amount")
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.add(f"{name} {value!r} is not an amount")
        return None
    if not amount.is_finite():
        problems.add(f"{name} {value!r} is not an amount")
        return None
    if amount < 0:
        problems.add(f"{name} {value} is negative")
        return None
    if amount != amount.quantize(CENT):
        problems.add(f"{name} {value} has more than two decimals")
        return None
    if amount >= Decimal("1e10"):
        problems.add(f"{name} {value} is too large")
        return None
    return amount.quantize(CENT)


def _clean_item(raw: Any, *, problems: _Problems, position: int) -> dict[str, Any] | None:
    item_problems = _Problems(f"{problems.label}, item {position}")
    if not isinstance(raw, dict):
        problems.add(f"item {position} is not an object")
        return None
    for key in REQUIRED_ITEM_FIELDS:
        if raw.get(key) in (None, ""):
            item_problems.add(f"missing {key}")
    qty = raw.get("qty", 1)
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        item_problems.add(f"qty {qty!r} must be a whole number of at least 1")
    final_sale = raw.get("final_sale", False)
    if not isinstance(final_sale, bool):
        item_problems.add(f"final_sale {final_sale!r} must be true or false")
    item = {
        "sku": _text(raw.get("sku"), name="sku", problems=item_problems, max_length=64),
        "name": _text(raw.get("name"), name="name", problems=item_problems, max_length=200),
        "size": _text(raw.get("size"), name="size", problems=item_problems, max_length=32),
        "qty": qty,
        "price": _money(raw.get("price"), name="price", problems=item_problems) if "price" in raw else None,
        "final_sale": final_sale,
    }
    problems.messages.extend(item_problems.messages)
    return None if item_problems.messages else item


def _clean_order(raw: Any, *, position: int, default_currency: str) -> tuple[_CleanOrder | None, list[str]]:
    number = raw.get("number") if isinstance(raw, dict) else None
    problems = _Problems(f"order {position}" + (f" ({number})" if number else ""))
    if not isinstance(raw, dict):
        problems.add("is not an object")
        return None, problems.messages
    for key in REQUIRED_ORDER_FIELDS:
        if raw.get(key) in (None, ""):
            problems.add(f"missing {key}")
    email = _text(raw.get("customer_email"), name="customer_email", problems=problems, max_length=254)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            problems.add(f"customer_email {email!r} is not an email address")
    # The shop's own word is kept as it is (helpdesk.order_status maps it for the policy): a
    # status outside the six canonical words is never a reason to refuse the file.
    status = _text(raw.get("status"), name="status", problems=problems, max_length=64)
    currency = _text(raw.get("currency") or default_currency, name="currency", problems=problems, max_length=3)
    if not (len(currency) == 3 and currency.isalpha()):
        problems.add(f"currency {currency!r} is not a three-letter code")
    fields: dict[str, Any] = {
        "customer_email": email,
        "status": status,
        "placed_at": _datetime(raw.get("placed_at"), name="placed_at", problems=problems),
        "shipped_at": _datetime(raw.get("shipped_at"), name="shipped_at", problems=problems),
        "delivered_at": _datetime(raw.get("delivered_at"), name="delivered_at", problems=problems),
        "carrier": _text(raw.get("carrier"), name="carrier", problems=problems, max_length=64),
        "tracking_number": _text(raw.get("tracking_number"), name="tracking_number", problems=problems, max_length=128),
        "currency": currency.upper(),
        "total": _money(raw.get("total"), name="total", problems=problems) if "total" in raw else None,
        "shipping_address": _text(
            raw.get("shipping_address"), name="shipping_address", problems=problems, max_length=2000
        ),
    }
    number_text = _text(number, name="number", problems=problems, max_length=64)
    placed, shipped, delivered = fields["placed_at"], fields["shipped_at"], fields["delivered_at"]
    if placed and shipped and shipped < placed:
        problems.add("shipped_at is before placed_at")
    if shipped and delivered and delivered < shipped:
        problems.add("delivered_at is before shipped_at")
    if status_key(status) == OrderStatus.DELIVERED and raw.get("delivered_at") in (None, ""):
        problems.add("a delivered order needs delivered_at")
    raw_items = raw.get("items", [])
    if not isinstance(raw_items, list):
        problems.add("items must be a list")
        raw_items = []
    items = [_clean_item(item, problems=problems, position=i) for i, item in enumerate(raw_items, start=1)]
    if problems.messages:
        return None, problems.messages
    fields["number"] = number_text
    return _CleanOrder(fields=fields, items=[item for item in items if item is not None]), []


def orders_validate(data: Any, *, default_currency: str = "USD") -> list[_CleanOrder]:
    """Check a whole orders document; raise one ValidationError listing every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("orders"), list):
        raise ValidationError('Expected a JSON object {"orders": [...]}.')
    cleaned: list[_CleanOrder] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(data["orders"], start=1):
        order, problems = _clean_order(raw, position=position, default_currency=default_currency)
        errors.extend(problems)
        if order is None:
            continue
        number = order.fields["number"]
        if number in seen:
            errors.append(f"order {position} ({number}): number already used by order {seen[number]}")
            continue
        seen[number] = position
        cleaned.append(order)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _check_refunded_totals(*, workspace: Workspace, orders: list[_CleanOrder]) -> None:
    """Refuse a file that lowers an order's total below what the ledger already refunded.

    The orders are locked until the load commits, so a refund cannot slip in between.
    """
    totals = {clean.fields["number"]: clean.fields["total"] for clean in orders}
    refunded = (
        Order.objects.select_for_update()
        .filter(workspace=workspace, number__in=list(totals))
        .order_by("pk")
        .values_list("number", "refunded_total", "currency")
    )
    problems = [
        f"order {number}: total {totals[number]} is below the {already} {currency} already refunded"
        for number, already, currency in refunded
        if totals[number] < already
    ]
    if problems:
        raise ValidationError(problems)


@transaction.atomic
def orders_load(*, workspace: Workspace, data: dict[str, Any], actor: Actor) -> LoadResult:
    """Upsert the orders of `data` into the workspace's shop, all or nothing.

    An order already loaded (same number) is replaced with the file's version, items included,
    so loading the same file twice leaves the same catalogue.
    """
    orders = orders_validate(data, default_currency=workspace.currency)
    _check_refunded_totals(workspace=workspace, orders=orders)
    created = updated = item_count = 0
    for clean in orders:
        fields = dict(clean.fields)
        number = fields.pop("number")
        order, was_created = Order.objects.update_or_create(workspace=workspace, number=number, defaults=fields)
        if was_created:
            created += 1
        else:
            updated += 1
            order.items.all().delete()
        OrderItem.objects.bulk_create(OrderItem(order=order, **item) for item in clean.items)
        item_count += len(clean.items)
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="orders.loaded",
        data={"created": created, "updated": updated, "items": item_count},
    )
    return LoadResult(created=created, updated=updated, items=item_count)

"""The shop connector: how tools read orders and act on them.

Two implementations share one interface: the built-in one works on the orders stored in the
database (`manage.py load_orders`), the HTTP one calls the merchant's own API. A workspace uses
the HTTP one when it has an HttpAction named `shop-connector` (its URL is the API's base URL,
its secret signs the calls); otherwise the built-in one.

Money never leaves as a float: amounts are Decimal here and strings on the wire.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ai.agent.snapshot import read_rows
from ai.tools.base import ToolFailed
from ai.tools.http_client import MerchantHttpError, signed_request
from audit.services import Actor
from helpdesk.models import Order, OrderItem, OrderStatus, ShopMovementKind, Ticket
from helpdesk.shop_ledger import LedgerRefused, confirmation_for, movement_record, movement_result

if TYPE_CHECKING:
    from ai.models import HttpAction

SHOP_CONNECTOR_ACTION = "shop-connector"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ItemInfo:
    sku: str
    name: str
    qty: int
    price: Decimal
    final_sale: bool = False
    size: str = ""


@dataclass(frozen=True)
class OrderInfo:
    number: str
    customer_email: str
    status: str
    currency: str
    total: Decimal
    placed_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    carrier: str = ""
    tracking_number: str = ""
    shipping_address: str = ""
    refunded: Decimal = Decimal("0.00")
    items: tuple[ItemInfo, ...] = field(default_factory=tuple)

    def belongs_to(self, email: str) -> bool:
        return self.customer_email.strip().lower() == email.strip().lower()

    def citable(self) -> dict[str, Any]:
        """What a reply may quote: no address, no other customer's data."""
        return {
            "order": self.number,
            "status": self.status,
            "carrier": self.carrier,
            "tracking_number": self.tracking_number,
            "placed_at": self.placed_at.isoformat() if self.placed_at else None,
            "shipped_at": self.shipped_at.isoformat() if self.shipped_at else None,
            "delivered_at": self.delivered_at.isoformat() if self.delivered_at else None,
            "total": str(self.total),
            "currency": self.currency,
            "items": [{"sku": i.sku, "name": i.name, "qty": i.qty, "final_sale": i.final_sale} for i in self.items],
        }


class ShopConnector(Protocol):
    def get_order(self, number: str) -> OrderInfo | None: ...
    def recent_orders(self, email: str, limit: int = 3) -> list[OrderInfo]: ...
    def issue_refund(self, order: OrderInfo, *, amount: Decimal, reason: str, key: str) -> dict[str, Any]: ...
    def create_replacement(self, order: OrderInfo, *, skus: list[str], reason: str, key: str) -> dict[str, Any]: ...
    def update_shipping_address(self, order: OrderInfo, *, address: str, key: str) -> dict[str, Any]: ...
    def cancel_order(self, order: OrderInfo, *, reason: str, key: str) -> dict[str, Any]: ...
    def send_password_reset(self, *, email: str, key: str) -> dict[str, Any]: ...
    def request_email_change(self, *, email: str, new_email: str, key: str) -> dict[str, Any]: ...
    def book_appointment(self, *, email: str, when: str, topic: str, key: str) -> dict[str, Any]: ...


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ToolFailed(f"the shop returned {value!r}, which is not an amount") from None
    if not amount.is_finite():
        raise ToolFailed(f"the shop returned {value!r}, which is not an amount")
    return amount.quantize(CENT)


# ------------------------------------------------------------------------------ built-in


@contextmanager
def _ledger_refusals() -> Iterator[None]:
    try:
        yield
    except LedgerRefused as exc:
        raise ToolFailed(exc.reason) from None


class DbShopConnector:
    """Orders in the database. Every change is a row of the shop ledger (`helpdesk.shop_ledger`),
    once per idempotency key, with a `shop.*` audit event on the ticket as evidence."""

    def __init__(self, *, ticket: Ticket, actor: Actor) -> None:
        self.ticket = ticket
        self.workspace = ticket.workspace
        self.actor = actor

    def _info(self, order: Order, items: list[OrderItem] | None = None) -> OrderInfo:
        return OrderInfo(
            number=order.number,
            customer_email=order.customer_email,
            status=order.status,
            currency=order.currency,
            total=order.total,
            placed_at=order.placed_at,
            shipped_at=order.shipped_at,
            delivered_at=order.delivered_at,
            carrier=order.carrier,
            tracking_number=order.tracking_number,
            shipping_address=order.shipping_address,
            refunded=order.refunded_total,
            items=tuple(
                ItemInfo(sku=i.sku, name=i.name, qty=i.qty, price=i.price, final_sale=i.final_sale, size=i.size)
                for i in (order.items.all() if items is None else items)
            ),
        )

    def _done(self, kind: str, key: str, order: Order | None = None) -> dict[str, Any] | None:
        with _ledger_refusals():
            return movement_result(workspace=self.workspace, kind=kind, key=key, order=order)

    def _lock(self, number: str, kind: str, key: str) -> tuple[Order, dict[str, Any] | None]:
        """The order row, locked, and the result of a call with the same key if one ran.

        Read after the lock: a concurrent call with the same key that held it has committed.
        """
        row = Order.objects.select_for_update().get(workspace=self.workspace, number=number)
        return row, self._done(kind, key, row)

    def _record(
        self, kind: str, key: str, data: dict[str, Any], *, order: Order | None = None, refund: Decimal | None = None
    ) -> dict[str, Any]:
        data = {**data, "confirmation": confirmation_for(kind, key), "key": key}
        with _ledger_refusals():
            return movement_record(
                workspace=self.workspace,
                ticket=self.ticket,
                actor=self.actor,
                kind=kind,
                key=key,
                data=data,
                order=order,
                refund=refund,
            )

    def get_order(self, number: str) -> OrderInfo | None:
        # The order (first by the model's order) and its items, in one statement.
        match = {"workspace": self.workspace, "number__iexact": number.strip()}
        rows, _ = read_rows(
            {
                "order": Order.objects.filter(**match)[:1],
                "items": OrderItem.objects.filter(**{f"order__{k}": v for k, v in match.items()}),
            }
        )
        if not rows["order"]:
            return None
        order = rows["order"][0]
        return self._info(order, items=[i for i in rows["items"] if i.order_id == order.pk])

    def recent_orders(self, email: str, limit: int = 3) -> list[OrderInfo]:
        orders = (
            Order.objects.filter(workspace=self.workspace, customer_email__iexact=email)
            .order_by("-placed_at")
            .prefetch_related("items")[:limit]
        )
        return [self._info(o) for o in orders]

    def issue_refund(self, order: OrderInfo, *, amount: Decimal, reason: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.REFUND
        row, done = self._lock(order.number, kind, key)  # two refunds of one order serialise here
        if done is not None:
            return done
        left = row.total - row.refunded_total
        if amount > left:
            raise ToolFailed(f"only {left} {row.currency} of order {row.number} is left to refund")
        refunded = row.refunded_total + amount
        if refunded >= row.total:
            shipped = row.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
            row.status = OrderStatus.RETURNED if shipped else OrderStatus.CANCELLED
            row.save(update_fields=["status"])
        data = {
            "order": row.number,
            "amount": str(amount),
            "currency": row.currency,
            "refunded_total": str(refunded),
            "order_status": row.status,
            "reason": reason,
        }
        return self._record(kind, key, data, order=row, refund=amount)

    def create_replacement(self, order: OrderInfo, *, skus: list[str], reason: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.REPLACEMENT
        row, done = self._lock(order.number, kind, key)
        if done is not None:
            return done
        return self._record(kind, key, {"order": row.number, "skus": skus, "reason": reason}, order=row)

    def update_shipping_address(self, order: OrderInfo, *, address: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.ADDRESS_CHANGE
        row, done = self._lock(order.number, kind, key)
        if done is not None:
            return done
        if row.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            raise ToolFailed(f"order {row.number} has already shipped")
        row.shipping_address = address
        row.save(update_fields=["shipping_address"])
        return self._record(kind, key, {"order": row.number}, order=row)

    def cancel_order(self, order: OrderInfo, *, reason: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.CANCELLATION
        # A cancel racing the warehouse (or another cancel) serialises on the lock.
        row, done = self._lock(order.number, kind, key)
        if done is not None:
            return done
        if row.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            raise ToolFailed(f"order {row.number} is {row.status} and can no longer be cancelled")
        previous = row.status
        row.status = OrderStatus.CANCELLED
        row.save(update_fields=["status"])
        data = {
            "order": row.number,
            "previous_status": previous,
            "order_status": row.status,
            "total": str(row.total),
            "currency": row.currency,
            "reason": reason,
        }
        return self._record(kind, key, data, order=row)

    def send_password_reset(self, *, email: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.PASSWORD_RESET
        if (done := self._done(kind, key)) is not None:
            return done
        return self._record(kind, key, {"email": email})

    def request_email_change(self, *, email: str, new_email: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.EMAIL_CHANGE
        if (done := self._done(kind, key)) is not None:
            return done
        # Only a request: the change completes when the customer confirms from the OLD address.
        return self._record(kind, key, {"email": email, "new_email": new_email, "confirm_via": "current address"})

    def book_appointment(self, *, email: str, when: str, topic: str, key: str) -> dict[str, Any]:
        kind = ShopMovementKind.APPOINTMENT
        if (done := self._done(kind, key)) is not None:
            return done
        return self._record(kind, key, {"email": email, "when": when, "topic": topic})


# ---------------------------------------------------------------------------------- HTTP


class HttpShopConnector:
    """The merchant's own API: GET /orders/<number>, POST /orders/<number>/refunds, ..."""

    def __init__(self, *, base_url: str, secret: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None, key: str = "") -> dict[str, Any]:
        return signed_request(
            method=method,
            url=self.base_url + path,
            payload=payload,
            secret=self.secret,
            timeout=self.timeout,
            key=key,
        )

    @staticmethod
    def _order(data: dict[str, Any]) -> OrderInfo:
        def when(name: str) -> dt.datetime | None:
            raw = data.get(name)
            parsed = parse_datetime(raw) if isinstance(raw, str) and raw else None
            if parsed is not None and timezone.is_naive(parsed):
                parsed = parsed.replace(tzinfo=dt.UTC)
            return parsed

        try:
            items = tuple(
                ItemInfo(
                    sku=str(i["sku"]),
                    name=str(i.get("name", "")),
                    qty=int(i.get("qty", 1)),
                    price=_money(i.get("price", "0")),
                    final_sale=bool(i.get("final_sale", False)),
                    size=str(i.get("size", "")),
                )
                for i in data.get("items") or []
            )
            return OrderInfo(
                number=str(data["number"]),
                customer_email=str(data["customer_email"]),
                status=str(data["status"]),
                currency=str(data.get("currency") or "USD"),
                total=_money(data["total"]),
                placed_at=when("placed_at"),
                shipped_at=when("shipped_at"),
                delivered_at=when("delivered_at"),
                carrier=str(data.get("carrier") or ""),
                tracking_number=str(data.get("tracking_number") or ""),
                shipping_address=str(data.get("shipping_address") or ""),
                refunded=_money(data.get("refunded") or "0"),
                items=items,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ToolFailed(f"the merchant API returned an order without {exc}") from None

    def get_order(self, number: str) -> OrderInfo | None:
        try:
            data = self._call("GET", f"/orders/{quote(number.strip(), safe='')}")
        except MerchantHttpError as exc:
            if exc.status == 404:
                return None
            raise
        return self._order(data)

    def recent_orders(self, email: str, limit: int = 3) -> list[OrderInfo]:
        data = self._call("GET", "/orders?" + urlencode({"customer_email": email, "limit": limit}))
        orders = data.get("orders")
        if not isinstance(orders, list):
            raise ToolFailed("the merchant API returned no order list")
        return [self._order(o) for o in orders[:limit] if isinstance(o, dict)]

    def _order_path(self, order: OrderInfo, tail: str) -> str:
        return f"/orders/{quote(order.number, safe='')}/{tail}"

    def issue_refund(self, order: OrderInfo, *, amount: Decimal, reason: str, key: str) -> dict[str, Any]:
        payload = {"amount": str(amount), "currency": order.currency, "reason": reason}
        data = self._call("POST", self._order_path(order, "refunds"), payload, key)
        return {"order": order.number, "amount": str(amount), "currency": order.currency, **_public(data)}

    def create_replacement(self, order: OrderInfo, *, skus: list[str], reason: str, key: str) -> dict[str, Any]:
        data = self._call("POST", self._order_path(order, "replacements"), {"skus": skus, "reason": reason}, key)
        return {"order": order.number, "skus": skus, **_public(data)}

    def update_shipping_address(self, order: OrderInfo, *, address: str, key: str) -> dict[str, Any]:
        data = self._call("POST", self._order_path(order, "shipping-address"), {"address": address}, key)
        return {"order": order.number, **_public(data)}

    def cancel_order(self, order: OrderInfo, *, reason: str, key: str) -> dict[str, Any]:
        data = self._call("POST", self._order_path(order, "cancellation"), {"reason": reason}, key)
        return {"order": order.number, **_public(data)}

    def send_password_reset(self, *, email: str, key: str) -> dict[str, Any]:
        return _public(self._call("POST", "/customers/password-reset", {"email": email}, key))

    def request_email_change(self, *, email: str, new_email: str, key: str) -> dict[str, Any]:
        payload = {"email": email, "new_email": new_email}
        return {"new_email": new_email, **_public(self._call("POST", "/customers/email-change", payload, key))}

    def book_appointment(self, *, email: str, when: str, topic: str, key: str) -> dict[str, Any]:
        payload = {"email": email, "when": when, "topic": topic}
        return {"when": when, **_public(self._call("POST", "/appointments", payload, key))}


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """The merchant's answer, minus anything that looks like a credential."""
    blocked = ("secret", "token", "password", "key", "signature")
    return {k: v for k, v in data.items() if not any(b in k.lower() for b in blocked)}


def connector_for(*, ticket: Ticket, actor: Actor) -> ShopConnector:
    """The workspace's connector: the merchant's API if configured, else the built-in shop."""
    from ai.models import HttpAction

    config = HttpAction.objects.filter(workspace_id=ticket.workspace_id, name=SHOP_CONNECTOR_ACTION).first()
    return connector_from(config, ticket=ticket, actor=actor)


def connector_from(config: HttpAction | None, *, ticket: Ticket, actor: Actor) -> ShopConnector:
    """The connector for a workspace's `shop-connector` HTTP action (None: the built-in shop)."""
    if config is not None:
        return HttpShopConnector(base_url=config.url_template, secret=config.secret, timeout=config.timeout_seconds)
    return DbShopConnector(ticket=ticket, actor=actor)


__all__ = [
    "SHOP_CONNECTOR_ACTION",
    "DbShopConnector",
    "HttpShopConnector",
    "ItemInfo",
    "OrderInfo",
    "ShopConnector",
    "connector_for",
    "connector_from",
]

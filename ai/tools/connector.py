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

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ai.agent.snapshot import read_rows
from ai.tools.base import ToolFailed
from ai.tools.http_client import MerchantHttpError, signed_request
from audit.services import Actor
from helpdesk.models import Order, OrderItem, OrderStatus, ShopMovementKind, Ticket
from helpdesk.order_status import StatusMap, status_map_for, status_map_from, status_words
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
    """`status` is the canonical OrderStatus the policy checks read ("" when the shop's word is
    not mapped: a person decides); `shop_status` is the shop's own word, which a reply states."""

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
    shop_status: str = ""

    def belongs_to(self, email: str) -> bool:
        return self.customer_email.strip().lower() == email.strip().lower()

    def citable(self) -> dict[str, Any]:
        """What a reply may quote: no address, no other customer's data."""
        return {
            "order": self.number,
            "status": self.shop_status or self.status,
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

    def __init__(self, *, ticket: Ticket, actor: Actor, statuses: StatusMap | None = None) -> None:
        self.ticket = ticket
        self.workspace = ticket.workspace
        self.actor = actor
        # The shop's status words are read with the first order (same statement), not before.
        self._statuses = statuses

    @property
    def statuses(self) -> StatusMap:
        if self._statuses is None:
            self._statuses = status_map_for(self.workspace)
        return self._statuses

    def _info(self, order: Order, items: list[OrderItem] | None = None) -> OrderInfo:
        return OrderInfo(
            number=order.number,
            customer_email=order.customer_email,
            status=self.statuses.canonical(order.status),
            shop_status=self.statuses.shown(order.status),
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

    def _read(self, orders: QuerySet[Order]) -> list[OrderInfo]:
        """These orders with their items (and, the first time, the shop's status words), in one
        statement."""
        parts: dict[str, QuerySet[Any]] = {
            "orders": orders,
            "items": OrderItem.objects.filter(order__in=orders.values("pk")).order_by("pk"),
        }
        if self._statuses is None:
            parts["status_words"] = status_words(self.workspace.pk)
        rows, _ = read_rows(parts)
        if "status_words" in rows:
            self._statuses = status_map_from(workspace=self.workspace, words=rows["status_words"])
        return [self._info(o, items=[i for i in rows["items"] if i.order_id == o.pk]) for o in rows["orders"]]

    def get_order(self, number: str) -> OrderInfo | None:
        # The first by the model's order, as a number typed in any case may match one order.
        found = self._read(Order.objects.filter(workspace=self.workspace, number__iexact=number.strip())[:1])
        return found[0] if found else None

    def recent_orders(self, email: str, limit: int = 3) -> list[OrderInfo]:
        return self._read(
            Order.objects.filter(workspace=self.workspace, customer_email__iexact=email).order_by("-placed_at")[:limit]
        )

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
            shipped = self.statuses.canonical(row.status) in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
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
        if self.statuses.canonical(row.status) not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
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
        if self.statuses.canonical(row.status) not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
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

    def __init__(self, *, base_url: str, secret: str, timeout: float = 10.0, statuses: StatusMap | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.timeout = timeout
        self.statuses = statuses or StatusMap()

    def _call(self, method: str, path: str, payload: dict[str, Any] | None = None, key: str = "") -> dict[str, Any]:
        return signed_request(
            method=method,
            url=self.base_url + path,
            payload=payload,
            secret=self.secret,
            timeout=self.timeout,
            key=key,
        )

    def _order(self, data: dict[str, Any]) -> OrderInfo:
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
                status=self.statuses.canonical(str(data["status"])),
                shop_status=self.statuses.shown(str(data["status"])),
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
        return HttpShopConnector(
            base_url=config.url_template,
            secret=config.secret,
            timeout=config.timeout_seconds,
            statuses=status_map_for(ticket.workspace),
        )
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

"""The shop connector: how tools read orders and act on them.

Two implementations share one interface: the built-in one works on the orders stored in the
database (`manage.py load_orders`), the HTTP one calls the merchant's own API. A workspace uses
the HTTP one when it has an HttpAction named `shop-connector` (its URL is the API's base URL,
its secret signs the calls); otherwise the built-in one.

Money never leaves as a float: amounts are Decimal here and strings on the wire.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ai.agent.snapshot import read_rows
from ai.tools.base import ToolFailed
from ai.tools.http_client import MerchantHttpError, signed_request
from audit.models import AuditEvent
from audit.services import Actor, audit_record
from helpdesk.models import Order, OrderItem, OrderStatus, Ticket

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


def _confirmation(prefix: str, key: str) -> str:
    # Derived from the idempotency key, so a retried call reports the same confirmation.
    return f"{prefix}-{(key or secrets.token_hex(8))[:10].upper()}"


# ------------------------------------------------------------------------------ built-in


class DbShopConnector:
    """Orders in the database. Every change writes a `shop.*` audit event on the ticket."""

    def __init__(self, *, ticket: Ticket, actor: Actor) -> None:
        self.ticket = ticket
        self.workspace = ticket.workspace
        self.actor = actor

    def _info(self, order: Order, refunded: Decimal | None = None, items: list[OrderItem] | None = None) -> OrderInfo:
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
            refunded=self._refunded(order.number) if refunded is None else refunded,
            items=tuple(
                ItemInfo(sku=i.sku, name=i.name, qty=i.qty, price=i.price, final_sale=i.final_sale, size=i.size)
                for i in (order.items.all() if items is None else items)
            ),
        )

    def _refunded(self, number: str) -> Decimal:
        # Refunds are recorded as audit events only: the append-only log is the ledger.
        amounts = AuditEvent.objects.filter(
            workspace=self.workspace, kind="shop.refund_issued", data__order=number
        ).values_list("data__amount", flat=True)
        return sum((Decimal(str(a)) for a in amounts), Decimal("0.00"))

    def _refunded_many(self, numbers: list[str]) -> dict[str, Decimal]:
        """`_refunded` of several orders in one query."""
        totals = dict.fromkeys(numbers, Decimal("0.00"))
        if numbers:
            for number, amount in AuditEvent.objects.filter(
                workspace=self.workspace, kind="shop.refund_issued", data__order__in=numbers
            ).values_list("data__order", "data__amount"):
                if number in totals:
                    totals[number] += Decimal(str(amount))
        return totals

    def _done(self, kind: str, key: str) -> dict[str, Any] | None:
        if not key:
            return None
        event = AuditEvent.objects.filter(workspace=self.workspace, kind=kind, data__key=key).first()
        return dict(event.data) if event else None

    def _record(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        audit_record(workspace=self.workspace, ticket=self.ticket, actor=self.actor, kind=kind, data=data)
        return data

    def _lock(self, number: str) -> Order:
        return Order.objects.select_for_update().get(workspace=self.workspace, number=number)

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
        orders = list(
            Order.objects.filter(workspace=self.workspace, customer_email__iexact=email)
            .order_by("-placed_at")
            .prefetch_related("items")[:limit]
        )
        # Items and refunds of all of them in two queries, not two per order.
        refunded = self._refunded_many([o.number for o in orders])
        return [self._info(o, refunded[o.number]) for o in orders]

    def issue_refund(self, order: OrderInfo, *, amount: Decimal, reason: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.refund_issued", key)) is not None:
            return done
        row = self._lock(order.number)  # two refunds of one order serialise here
        already = self._refunded(row.number)
        if amount > row.total - already:
            raise ToolFailed(f"only {row.total - already} {row.currency} of order {row.number} is left to refund")
        refunded = already + amount
        if refunded >= row.total:
            shipped = row.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
            row.status = OrderStatus.RETURNED if shipped else OrderStatus.CANCELLED
            row.save(update_fields=["status"])
        return self._record(
            "shop.refund_issued",
            {
                "order": row.number,
                "amount": str(amount),
                "currency": row.currency,
                "refunded_total": str(refunded),
                "order_status": row.status,
                "reason": reason,
                "confirmation": _confirmation("RF", key),
                "key": key,
            },
        )

    def create_replacement(self, order: OrderInfo, *, skus: list[str], reason: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.replacement_created", key)) is not None:
            return done
        self._lock(order.number)
        return self._record(
            "shop.replacement_created",
            {
                "order": order.number,
                "skus": skus,
                "reason": reason,
                "confirmation": _confirmation("RP", key),
                "key": key,
            },
        )

    def update_shipping_address(self, order: OrderInfo, *, address: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.address_updated", key)) is not None:
            return done
        row = self._lock(order.number)
        if row.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            raise ToolFailed(f"order {row.number} has already shipped")
        row.shipping_address = address
        row.save(update_fields=["shipping_address"])
        return self._record(
            "shop.address_updated",
            {"order": row.number, "confirmation": _confirmation("AD", key), "key": key},
        )

    def cancel_order(self, order: OrderInfo, *, reason: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.order_cancelled", key)) is not None:
            return done
        row = self._lock(order.number)  # a cancel racing the warehouse (or another cancel) serialises here
        if row.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            raise ToolFailed(f"order {row.number} is {row.status} and can no longer be cancelled")
        previous = row.status
        row.status = OrderStatus.CANCELLED
        row.save(update_fields=["status"])
        return self._record(
            "shop.order_cancelled",
            {
                "order": row.number,
                "previous_status": previous,
                "order_status": row.status,
                "total": str(row.total),
                "currency": row.currency,
                "reason": reason,
                "confirmation": _confirmation("CX", key),
                "key": key,
            },
        )

    def send_password_reset(self, *, email: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.password_reset_sent", key)) is not None:
            return done
        return self._record(
            "shop.password_reset_sent", {"email": email, "confirmation": _confirmation("PR", key), "key": key}
        )

    def request_email_change(self, *, email: str, new_email: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.email_change_requested", key)) is not None:
            return done
        # Only a request: the change completes when the customer confirms from the OLD address.
        return self._record(
            "shop.email_change_requested",
            {
                "email": email,
                "new_email": new_email,
                "confirmation": _confirmation("EC", key),
                "confirm_via": "current address",
                "key": key,
            },
        )

    def book_appointment(self, *, email: str, when: str, topic: str, key: str) -> dict[str, Any]:
        if (done := self._done("shop.appointment_booked", key)) is not None:
            return done
        return self._record(
            "shop.appointment_booked",
            {"email": email, "when": when, "topic": topic, "confirmation": _confirmation("AP", key), "key": key},
        )


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

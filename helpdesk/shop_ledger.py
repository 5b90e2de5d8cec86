"""Writing and reading the built-in shop's ledger (`ShopMovement`).

The shop connector asks `movement_result` whether a call already ran (by its idempotency key)
and records each change with `movement_record`, which writes the ledger row, raises the
order's refunded total for a refund, and writes the `shop.*` audit event, all in the caller's
transaction. Nothing here reads the audit log.
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from psycopg import errors as pg_errors

from audit.services import Actor, audit_record
from helpdesk.models import Order, OrderStatus, ShopMovement, ShopMovementKind, Ticket, Workspace

# The audit event written beside each movement, as evidence.
AUDIT_KINDS: dict[str, str] = {
    ShopMovementKind.REFUND: "shop.refund_issued",
    ShopMovementKind.REPLACEMENT: "shop.replacement_created",
    ShopMovementKind.ADDRESS_CHANGE: "shop.address_updated",
    ShopMovementKind.CANCELLATION: "shop.order_cancelled",
    ShopMovementKind.PASSWORD_RESET: "shop.password_reset_sent",
    ShopMovementKind.EMAIL_CHANGE: "shop.email_change_requested",
    ShopMovementKind.APPOINTMENT: "shop.appointment_booked",
    ShopMovementKind.RETURN_OPENED: "shop.return_opened",
}
CONFIRMATION_PREFIXES: dict[str, str] = {
    ShopMovementKind.REFUND: "RF",
    ShopMovementKind.REPLACEMENT: "RP",
    ShopMovementKind.ADDRESS_CHANGE: "AD",
    ShopMovementKind.CANCELLATION: "CX",
    ShopMovementKind.PASSWORD_RESET: "PR",
    ShopMovementKind.EMAIL_CHANGE: "EC",
    ShopMovementKind.APPOINTMENT: "AP",
    ShopMovementKind.RETURN_OPENED: "RT",
}


class LedgerRefused(Exception):
    """The ledger refuses the movement; `reason` says why, for the customer-facing tool result."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def confirmation_for(kind: str, key: str) -> str:
    # Derived from the idempotency key, so a retried call reports the same confirmation.
    return f"{CONFIRMATION_PREFIXES[kind]}-{(key or secrets.token_hex(8))[:10].upper()}"


def movement_result(*, workspace: Workspace, kind: str, key: str, order: Order | None = None) -> dict[str, Any] | None:
    """The result of the movement already made with this key, or None (no key: never made).

    A key names one request: the same key for another kind of movement or another order is
    refused rather than answered with someone else's result.
    """
    if not key:
        return None
    first = ShopMovement.objects.filter(workspace=workspace, key=key).values_list("kind", "order_id", "result").first()
    if first is None:
        return None
    done_kind, done_order, result = first
    if done_kind != kind:
        raise LedgerRefused(f"this request's idempotency key was already used for a {done_kind.replace('_', ' ')}")
    if done_order != (order.pk if order is not None else None):
        raise LedgerRefused("this request's idempotency key was already used for another order")
    return dict(result)


@transaction.atomic
def movement_record(
    *,
    workspace: Workspace,
    kind: str,
    key: str,
    data: dict[str, Any],
    actor: Actor,
    ticket: Ticket | None = None,
    order: Order | None = None,
    refund: Decimal | None = None,
) -> dict[str, Any]:
    """Append one movement (and its audit event) to the ledger; returns what the call returns.

    A refund raises `order.refunded_total` in the same savepoint as the ledger row, so the
    order table's CHECK refuses a refunded total above the order's whatever raced. A key that
    a concurrent call committed first returns that call's result and moves nothing.
    """
    is_refund = kind == ShopMovementKind.REFUND
    if is_refund != (refund is not None) or (is_refund and order is None):
        raise ValueError("a refund, and only a refund, has an amount and an order")
    try:
        with transaction.atomic():
            if refund is not None and order is not None:
                Order.objects.filter(pk=order.pk).update(refunded_total=F("refunded_total") + refund)
            ShopMovement.objects.create(
                workspace=workspace,
                order=order,
                ticket=ticket,
                kind=kind,
                key=key or f"auto-{secrets.token_hex(16)}",
                amount=refund,
                currency=order.currency if order is not None else "",
                confirmation=str(data.get("confirmation", ""))[:64],
                actor=actor.label,
                result=data,
            )
    except IntegrityError as exc:
        if isinstance(exc.__cause__, pg_errors.UniqueViolation):
            first = movement_result(workspace=workspace, kind=kind, key=key, order=order)
            if first is not None:
                return first
        if isinstance(exc.__cause__, pg_errors.CheckViolation) and order is not None:
            raise LedgerRefused(f"refunds of order {order.number} may not exceed its total of {order.total}") from None
        raise
    audit_record(workspace=workspace, ticket=ticket, actor=actor, kind=AUDIT_KINDS[kind], data=data)
    return data


@transaction.atomic
def order_return_arrived(*, order: Order, actor: Actor, ticket: Ticket | None = None) -> Order:
    """The returned item is back at the shop: the order is marked returned (once), audited."""
    moved = Order.objects.filter(pk=order.pk).exclude(status=OrderStatus.RETURNED).update(status=OrderStatus.RETURNED)
    order.refresh_from_db()
    if moved:
        audit_record(
            workspace=order.workspace,
            ticket=ticket,
            actor=actor,
            kind="shop.return_arrived",
            data={"order": order.number},
        )
    return order


__all__ = [
    "AUDIT_KINDS",
    "LedgerRefused",
    "confirmation_for",
    "movement_record",
    "movement_result",
    "order_return_arrived",
]

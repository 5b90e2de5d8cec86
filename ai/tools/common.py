"""Pieces the built-in tools share: argument schemas and the identity-bound order fetch."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ai.tools.base import ToolContext, ToolRefused
from ai.tools.connector import OrderInfo

ORDER_NUMBER: dict[str, Any] = {
    "type": "string",
    "pattern": "^#?[A-Za-z0-9][A-Za-z0-9-]{0,63}$",
    "description": "The order number as the customer wrote it, e.g. A1001.",
}
AMOUNT: dict[str, Any] = {
    "type": ["string", "number"],
    "pattern": "^[0-9]{1,10}(\\.[0-9]{1,2})?$",
    "exclusiveMinimum": 0,
    "description": "Amount in the order's currency, e.g. 40.00.",
}
REASON: dict[str, Any] = {"type": "string", "maxLength": 500}
CENT = Decimal("0.01")


def obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def parse_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ToolRefused(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount <= 0:
        raise ToolRefused(f"{value!r} is not a positive amount")
    if amount != amount.quantize(CENT):
        raise ToolRefused(f"{value!r} has more than two decimals")
    return amount.quantize(CENT)


def owned_order(ctx: ToolContext, number: str) -> OrderInfo:
    """The order if it is the ticket customer's own; whatever the text claims, never another's."""
    order = ctx.connector.get_order(number.lstrip("#"))
    if order is None:
        raise ToolRefused(f"no order {number} was found")
    if not order.belongs_to(ctx.customer_email):
        raise ToolRefused("order belongs to another customer")
    return order

"""cancel_order: cancel one of the customer's orders before it ships, with the reason."""

from __future__ import annotations

from typing import Any

from ai.tools.base import WRITE, ToolContext, ToolSpec
from ai.tools.common import ORDER_NUMBER, REASON, obj, owned_order
from ai.tools.connector import OrderInfo
from ai.tools.policy import policy_for


def _checked(ctx: ToolContext, args: dict[str, Any]) -> tuple[OrderInfo, dict[str, Any]]:
    """The customer's order and the preview, or ToolRefused; `run` reuses the order it fetched."""
    order = owned_order(ctx, args["order_number"])
    policy_for(ctx.ticket.workspace).check_cancellation(order)
    return order, {
        "order": order.number,
        "reason": args["reason"].strip(),
        "total": str(order.total),
        "currency": order.currency,
    }


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return _checked(ctx, args)[1]


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    order, preview = _checked(ctx, args)
    done = ctx.connector.cancel_order(order, reason=preview["reason"], key=ctx.idempotency_key)
    return {
        **preview,
        "confirmation": done.get("confirmation", ""),
        "order_status": done.get("order_status", "cancelled"),
    }


SPEC = ToolSpec(
    name="cancel_order",
    description=(
        "Cancel one of the customer's own orders that has not shipped yet (pending or processing), "
        "with the customer's reason. Shipped or delivered orders cannot be cancelled: offer a return instead."
    ),
    schema=obj({"order_number": ORDER_NUMBER, "reason": {**REASON, "minLength": 1}}, ["order_number", "reason"]),
    kind=WRITE,
    prepare=prepare,
    run=run,
)

"""update_shipping_address: change where an order goes, only before it ships."""

from __future__ import annotations

from typing import Any

from ai.tools.base import WRITE, ToolContext, ToolSpec
from ai.tools.common import ORDER_NUMBER, obj, owned_order
from ai.tools.connector import OrderInfo
from ai.tools.policy import policy_for


def _checked(ctx: ToolContext, args: dict[str, Any]) -> tuple[OrderInfo, dict[str, Any]]:
    """The customer's order and the preview, or ToolRefused; `run` reuses the order it fetched."""
    order = owned_order(ctx, args["order_number"])
    policy_for(ctx.ticket.workspace).check_address_change(order)
    return order, {"order": order.number, "address": args["address"].strip()}


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return _checked(ctx, args)[1]


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    order, preview = _checked(ctx, args)
    done = ctx.connector.update_shipping_address(order, address=preview["address"], key=ctx.idempotency_key)
    return {**preview, "confirmation": done.get("confirmation", "")}


SPEC = ToolSpec(
    name="update_shipping_address",
    description="Change the shipping address of one of the customer's orders that has not shipped yet.",
    schema=obj(
        {"order_number": ORDER_NUMBER, "address": {"type": "string", "minLength": 10, "maxLength": 500}},
        ["order_number", "address"],
    ),
    kind=WRITE,
    prepare=prepare,
    run=run,
)

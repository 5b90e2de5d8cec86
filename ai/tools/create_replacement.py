"""create_replacement: send the customer new units of items of a delivered order."""

from __future__ import annotations

from typing import Any

from ai.tools.base import WRITE, ToolContext, ToolRefused, ToolSpec
from ai.tools.common import ORDER_NUMBER, REASON, obj, owned_order
from ai.tools.connector import OrderInfo
from ai.tools.policy import policy_for
from helpdesk.models import OrderStatus


def _checked(ctx: ToolContext, args: dict[str, Any]) -> tuple[OrderInfo, dict[str, Any]]:
    """The customer's order and the preview, or ToolRefused; `run` reuses the order it fetched."""
    order = owned_order(ctx, args["order_number"])
    if order.status != OrderStatus.DELIVERED:
        raise ToolRefused(f"order {order.number} is {order.status}; only delivered orders can be replaced")
    policy = policy_for(ctx.ticket.workspace)
    policy.check_return_window(order)
    replaceable = [i.sku for i in order.items if not i.sku.upper().startswith(policy.non_refundable_sku_prefixes)]
    skus = list(args.get("skus") or replaceable)
    unknown = sorted(set(skus) - {i.sku for i in order.items})
    if unknown:
        raise ToolRefused(f"order {order.number} has no item {', '.join(unknown)}")
    if not skus or not set(skus) <= set(replaceable):
        raise ToolRefused("gift cards cannot be replaced")
    return order, {"order": order.number, "skus": skus}


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return _checked(ctx, args)[1]


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    order, preview = _checked(ctx, args)
    done = ctx.connector.create_replacement(
        order, skus=preview["skus"], reason=args.get("reason", ""), key=ctx.idempotency_key
    )
    return {**preview, "confirmation": done.get("confirmation", "")}


SPEC = ToolSpec(
    name="create_replacement",
    description="Ship replacements for items of one of the customer's delivered orders, within the return window.",
    schema=obj(
        {
            "order_number": ORDER_NUMBER,
            "skus": {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 20},
            "reason": REASON,
        },
        ["order_number"],
    ),
    kind=WRITE,
    prepare=prepare,
    run=run,
)

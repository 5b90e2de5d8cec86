"""issue_refund: refund part or all of one of the customer's orders, within the shop policy."""

from __future__ import annotations

from typing import Any

from ai.tools.base import WRITE, ToolContext, ToolRefused, ToolSpec
from ai.tools.common import AMOUNT, ORDER_NUMBER, REASON, obj, owned_order, parse_amount
from ai.tools.connector import OrderInfo
from ai.tools.policy import policy_for, policy_now


def _checked(ctx: ToolContext, args: dict[str, Any]) -> tuple[OrderInfo, dict[str, Any]]:
    """The customer's order and the preview, or ToolRefused; `run` reuses the order it fetched."""
    order = owned_order(ctx, args["order_number"])
    amount = parse_amount(args["amount"])
    refundable = policy_for(ctx.ticket.workspace).refundable(order, now=policy_now())
    if amount > refundable:
        raise ToolRefused(
            f"{amount} {order.currency} is more than the {refundable} {order.currency} "
            f"refundable on order {order.number}"
        )
    return order, {
        "order": order.number,
        "amount": str(amount),
        "currency": order.currency,
        "refundable": str(refundable),
    }


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return _checked(ctx, args)[1]


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    order, preview = _checked(ctx, args)
    done = ctx.connector.issue_refund(
        order, amount=parse_amount(args["amount"]), reason=args.get("reason", ""), key=ctx.idempotency_key
    )
    return {
        "order": preview["order"],
        "amount": preview["amount"],
        "currency": preview["currency"],
        "confirmation": done.get("confirmation", ""),
        "order_status": done.get("order_status", order.status),
    }


SPEC = ToolSpec(
    name="issue_refund",
    description=(
        "Refund an amount on one of the customer's own orders (order currency). Policy: only within the return "
        "window after delivery, never for final-sale items or gift cards, never more than is left to refund."
    ),
    schema=obj({"order_number": ORDER_NUMBER, "amount": AMOUNT, "reason": REASON}, ["order_number", "amount"]),
    kind=WRITE,
    amount_arg="amount",
    prepare=prepare,
    run=run,
)

"""lookup_order: the status, carrier and tracking of one of the customer's own orders."""

from __future__ import annotations

from typing import Any

from ai.tools.base import READ, ToolContext, ToolSpec
from ai.tools.common import ORDER_NUMBER, obj, owned_order


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return owned_order(ctx, args["order_number"]).citable()


SPEC = ToolSpec(
    name="lookup_order",
    description="Look up one of the customer's own orders: status, carrier, tracking number, delivery date.",
    schema=obj({"order_number": ORDER_NUMBER}, ["order_number"]),
    kind=READ,
    prepare=prepare,
    run=prepare,
)

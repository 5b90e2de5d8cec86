"""Refunds the shop pays once the return has arrived (ShopPolicy.refund_timing): approving
such a refund opens the return in the shop ledger; the refund itself waits for the item."""

from __future__ import annotations

from typing import Any

from ai.models import ActionRequest
from ai.tools.review import order_for_args, refund_waits_for_return
from audit.services import Actor
from helpdesk.models import ShopMovementKind
from helpdesk.shop_ledger import confirmation_for, movement_record, order_return_arrived


def return_open(*, action: ActionRequest, actor: Actor) -> dict[str, Any] | None:
    """Open the return of an approved refund that waits for it (once per request), or None when
    the refund is paid now."""
    order = order_for_args(action.workspace_id, action.args)
    if not refund_waits_for_return(workspace=action.ticket.workspace, tool=action.tool, order=order):
        return None
    assert order is not None
    key = f"action-{action.pk}-return"
    data = {
        "order": order.number,
        "refund": str(action.args.get("amount", "")),
        "currency": order.currency,
        "confirmation": confirmation_for(ShopMovementKind.RETURN_OPENED, key),
        "key": key,
    }
    return movement_record(
        workspace=order.workspace,
        kind=ShopMovementKind.RETURN_OPENED,
        key=key,
        data=data,
        actor=actor,
        ticket=action.ticket,
        order=order,
    )


def return_reply(action: ActionRequest, opened: dict[str, Any]) -> str:
    return (
        f"Your return for order {opened['order']} is open (reference {opened['confirmation']}). "
        "Please send the item back; as soon as it arrives we refund "
        f"{opened['refund']} {opened['currency']} to your original payment method."
    )


def order_mark_returned(*, action: ActionRequest, actor: Actor) -> None:
    order = order_for_args(action.workspace_id, action.args)
    if order is not None:
        order_return_arrived(order=order, actor=actor, ticket=action.ticket)

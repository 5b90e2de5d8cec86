"""What a manager needs to decide on a held action, read in one place for the approvals page
and the admin: the action in words, the order it touches (items, delivery, return window,
refunds already paid from the shop ledger), the customer's message and the reply that goes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ai.models import ActionRequest, ActionStatus, RefundTiming
from ai.models import ShopPolicy as PolicyRow
from ai.tools.describe import action_words
from ai.tools.policy import policy_for
from helpdesk.citations import strip_markers
from helpdesk.models import Message, MessageKind, Order, OrderStatus, ShopMovement, ShopMovementKind


@dataclass
class OrderFacts:
    order: Order
    items: list[Any]
    window_closes: dt.datetime | None
    window_open: bool
    refunds: list[ShopMovement]
    return_opened: ShopMovement | None

    @property
    def refunded(self) -> Decimal:
        return self.order.refunded_total


@dataclass
class Review:
    action: ActionRequest
    words: str
    customer_message: Message | None
    order: OrderFacts | None
    waits_for_return: bool
    notes: list[str] = field(default_factory=list)

    @property
    def requester(self) -> str:
        label = self.action.requested_by
        return "the AI" if label.startswith("ai:") else label.removeprefix("user:")

    @property
    def reply(self) -> str:
        """The held reply as the customer will read it (no citation markers)."""
        return strip_markers(self.action.reply_draft)


def refund_timing(workspace_id: int) -> str:
    row = PolicyRow.objects.filter(workspace_id=workspace_id).values_list("refund_timing", flat=True).first()
    return row or RefundTiming.ON_REQUEST


def refund_waits_for_return(*, workspace_id: int, tool: str, order: Order | None) -> bool:
    """Under "once the return has arrived", a refund of an order not yet back waits for it."""
    if tool != "issue_refund" or order is None or order.status == OrderStatus.RETURNED:
        return False
    return refund_timing(workspace_id) == RefundTiming.AFTER_RETURN


def _order_facts(action: ActionRequest, now: dt.datetime) -> OrderFacts | None:
    number = str(action.args.get("order_number") or "").strip()
    if not number:
        return None
    order = Order.objects.filter(workspace_id=action.workspace_id, number__iexact=number).first()
    if order is None:
        return None
    movements = list(ShopMovement.objects.filter(order=order).order_by("created_at", "pk"))
    policy = policy_for(action.ticket.workspace)
    closes = order.delivered_at + dt.timedelta(days=policy.return_window_days) if order.delivered_at else None
    return OrderFacts(
        order=order,
        items=list(order.items.all()),
        window_closes=closes,
        window_open=closes is None or now <= closes,
        refunds=[m for m in movements if m.kind == ShopMovementKind.REFUND],
        return_opened=next((m for m in movements if m.kind == ShopMovementKind.RETURN_OPENED), None),
    )


def _customer_message(action: ActionRequest) -> Message | None:
    run = action.run
    if run is not None and run.trigger_message_id is not None:
        return run.trigger_message
    return (
        Message.objects.filter(ticket_id=action.ticket_id, kind=MessageKind.CUSTOMER, created_at__lte=action.created_at)
        .order_by("-created_at", "-pk")
        .first()
    )


def action_review(action: ActionRequest, *, now: dt.datetime | None = None) -> Review:
    from django.utils import timezone

    now = now or timezone.now()
    currency = str(action.args.get("currency") or action.ticket.workspace.currency)
    facts = _order_facts(action, now)
    if facts is not None:
        currency = facts.order.currency
    waits = refund_waits_for_return(
        workspace_id=action.workspace_id, tool=action.tool, order=facts.order if facts else None
    )
    notes = []
    if waits and action.status == ActionStatus.PENDING:
        notes.append(
            "Shop policy pays refunds once the return has arrived: approving opens the return now, "
            "and the refund is paid when the item is back."
        )
    if action.status == ActionStatus.WAITING_RETURN:
        notes.append("Approved: the return is open; the refund is paid when the item is back.")
    if facts is not None and not facts.window_open and action.tool == "issue_refund":
        notes.append(f"The return window closed on {facts.window_closes:%Y-%m-%d}.")
    return Review(
        action=action,
        words=action_words(action.tool, action.args, currency),
        customer_message=_customer_message(action),
        order=facts,
        waits_for_return=waits,
        notes=notes,
    )

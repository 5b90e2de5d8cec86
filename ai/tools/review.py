"""What a manager needs to decide on a held action, read in one place for the approvals page
and the admin: the action in words, the order it touches (items, delivery, return window,
refunds already paid from the shop ledger), the customer's message and the reply that goes.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ai.models import ActionRequest, ActionStatus, RefundTiming
from ai.tools.describe import action_words
from ai.tools.policy import ShopPolicy, policy_for
from helpdesk.citations import strip_markers
from helpdesk.models import Message, MessageKind, Order, OrderStatus, ShopMovement, ShopMovementKind, Workspace


@dataclass
class OrderFacts:
    order: Order
    items: list[Any]
    window_closes: dt.datetime | None
    window_open: bool
    refunds: list[ShopMovement]
    return_opened: ShopMovement | None


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


def _order_number(args: dict[str, Any]) -> str:
    return str(args.get("order_number") or "").strip()


def order_for_args(workspace_id: int, args: dict[str, Any]) -> Order | None:
    """The order a tool call's `order_number` names, typed in any case, or None."""
    number = _order_number(args)
    return Order.objects.filter(workspace_id=workspace_id, number__iexact=number).first() if number else None


def refund_waits_for_return(*, workspace: Workspace, tool: str, order: Order | None) -> bool:
    """Under "once the return has arrived", a refund of an order not yet back waits for it."""
    if tool != "issue_refund" or order is None or order.status == OrderStatus.RETURNED:
        return False
    return policy_for(workspace).refund_timing == RefundTiming.AFTER_RETURN


def _orders(workspace: Workspace, actions: Sequence[ActionRequest]) -> dict[str, Order]:
    """The orders the actions name, by upper-cased number, with their items prefetched."""
    numbers = {_order_number(a.args) for a in actions} - {""}
    if not numbers:
        return {}
    named = functools.reduce(operator.or_, (Q(number__iexact=n) for n in numbers))
    found: dict[str, Order] = {}
    # Newest first, as the shop matches a number typed in any case to one order.
    for order in (
        Order.objects.filter(named, workspace_id=workspace.pk).order_by("-placed_at", "pk").prefetch_related("items")
    ):
        found.setdefault(order.number.upper(), order)
    return found


def _order_facts(order: Order, movements: list[ShopMovement], policy: ShopPolicy, now: dt.datetime) -> OrderFacts:
    closes = policy.window_closes(order)
    return OrderFacts(
        order=order,
        items=list(order.items.all()),
        window_closes=closes,
        window_open=closes is None or now <= closes,
        refunds=[m for m in movements if m.kind == ShopMovementKind.REFUND],
        return_opened=next((m for m in movements if m.kind == ShopMovementKind.RETURN_OPENED), None),
    )


def _customer_messages(actions: Sequence[ActionRequest]) -> dict[int, list[Message]]:
    """The customer's messages of the tickets whose actions no run names a message for, newest first."""
    tickets = {a.ticket_id for a in actions if a.run is None or a.run.trigger_message_id is None}
    by_ticket: dict[int, list[Message]] = defaultdict(list)
    if tickets:
        rows = Message.objects.filter(ticket_id__in=tickets, kind=MessageKind.CUSTOMER).order_by("-created_at", "-pk")
        for message in rows:
            by_ticket[message.ticket_id].append(message)
    return by_ticket


def _customer_message(action: ActionRequest, messages: dict[int, list[Message]]) -> Message | None:
    run = action.run
    if run is not None and run.trigger_message_id is not None:
        return run.trigger_message
    return next((m for m in messages.get(action.ticket_id, []) if m.created_at <= action.created_at), None)


def _review(
    action: ActionRequest,
    *,
    workspace: Workspace,
    facts: OrderFacts | None,
    message: Message | None,
) -> Review:
    currency = str(action.args.get("currency") or workspace.currency)
    if facts is not None:
        currency = facts.order.currency
    waits = refund_waits_for_return(workspace=workspace, tool=action.tool, order=facts.order if facts else None)
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
        customer_message=message,
        order=facts,
        waits_for_return=waits,
        notes=notes,
    )


def action_reviews(
    actions: Sequence[ActionRequest], *, workspace: Workspace, now: dt.datetime | None = None
) -> list[Review]:
    """The reviews of held actions of `workspace`, read in the same few queries however many
    there are (the approvals page lists them all)."""
    if any(a.workspace_id != workspace.pk for a in actions):
        raise ValueError("every action reviewed must belong to the workspace")
    now = now or timezone.now()
    policy = policy_for(workspace)
    orders = _orders(workspace, actions)
    movements: dict[int | None, list[ShopMovement]] = defaultdict(list)
    if orders:
        for movement in ShopMovement.objects.filter(order__in=list(orders.values())).order_by("created_at", "pk"):
            movements[movement.order_id].append(movement)
    messages = _customer_messages(actions)
    reviews = []
    for action in actions:
        order = orders.get(_order_number(action.args).upper())
        facts = _order_facts(order, movements[order.pk], policy, now) if order is not None else None
        reviews.append(_review(action, workspace=workspace, facts=facts, message=_customer_message(action, messages)))
    return reviews


def action_review(
    action: ActionRequest, *, workspace: Workspace | None = None, now: dt.datetime | None = None
) -> Review:
    return action_reviews([action], workspace=workspace or action.ticket.workspace, now=now)[0]

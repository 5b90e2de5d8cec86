"""The local provider's deterministic planner: which tool calls a ticket's text suggests.

It reads order numbers, amounts, new email addresses and dates from the text, but never an
identity: every call acts on the ticket's customer. An amount in the text is a wish, capped by
what the policy allows on that order; tools the workspace has not enabled are never planned.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ai.tools.base import ToolCall, ToolRefused
from ai.tools.connector import OrderInfo, connector_for
from ai.tools.policy import policy_for
from ai.tools.registry import permissions
from audit.services import Actor
from helpdesk.models import HUMAN_NEEDED_TYPES, Ticket, TicketType

ORDER_RE = re.compile(r"(?<![\w@.])#?([A-Z]{1,4}-?\d{3,10})\b", re.IGNORECASE)
AMOUNT_RE = re.compile(
    r"(?:[$€£]\s?(\d{1,9}(?:[.,]\d{1,2})?))|(?:\b(\d{1,9}(?:[.,]\d{1,2})?)\s?(?:usd|eur|gbp|dollars?|euros?)\b)",
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
WHEN_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\b")
ADDRESS_RE = re.compile(
    r"(?:new address|address to|ship (?:it )?to)\s*[:\-]?\s*(.{10,300}?)(?:\n\n|$)", re.IGNORECASE | re.S
)


def _amount(text: str) -> Decimal | None:
    for match in AMOUNT_RE.finditer(text):
        raw = (match.group(1) or match.group(2)).replace(",", ".")
        try:
            return Decimal(raw).quantize(Decimal("0.01"))
        except InvalidOperation:
            continue
    return None


def _orders_in(text: str) -> list[str]:
    seen: list[str] = []
    for match in ORDER_RE.finditer(text):
        number = match.group(1).upper()
        if number not in seen:
            seen.append(number)
    return seen


def plan_tool_calls(*, ticket: Ticket, ticket_type: str, text: str) -> list[ToolCall]:
    """Calls the text suggests for this ticket type, among the workspace's enabled tools."""
    enabled = {name for name, p in permissions(ticket.workspace_id).items() if p.enabled}
    calls: list[ToolCall] = []

    def add(tool: str, **args: object) -> None:
        if tool in enabled:
            calls.append(ToolCall(tool, dict(args)))

    if ticket_type in HUMAN_NEEDED_TYPES:
        add("escalate_to_human", reason=f"{TicketType(ticket_type).label} tickets need a person")
        return calls
    if ticket_type in (TicketType.PASSWORD_RESET, TicketType.ACCOUNT_CHANGE, TicketType.SCHEDULING):
        return [
            call for call in _plan_account(ticket=ticket, ticket_type=ticket_type, text=text) if call.tool in enabled
        ]

    connector = connector_for(ticket=ticket, actor=Actor.system("planner"))
    numbers = _orders_in(text)
    order: OrderInfo | None = None
    if not numbers and ticket_type in (TicketType.ORDER_STATUS, TicketType.REFUND, TicketType.REPLACEMENT):
        # No number given: the customer's own latest order (looked up by the ticket's address).
        recent = connector.recent_orders(ticket.customer.email, limit=1)
        order = recent[0] if recent else None
        numbers = [order.number] if order else []
    elif numbers:
        order = connector.get_order(numbers[0])

    if ticket_type in (TicketType.ORDER_STATUS, TicketType.REFUND, TicketType.REPLACEMENT):
        for number in numbers[:3]:
            add("lookup_order", order_number=number)
    if not numbers:
        return calls

    if ticket_type == TicketType.REFUND and order is not None and order.belongs_to(ticket.customer.email):
        try:
            refundable = policy_for(ticket.workspace).refundable(order)
        except ToolRefused:
            refundable = None
        if refundable is not None:
            wished = _amount(text)
            amount = min(wished, refundable) if wished else refundable
            add("issue_refund", order_number=order.number, amount=str(amount), reason="customer request")
    elif ticket_type == TicketType.REPLACEMENT:
        add("create_replacement", order_number=numbers[0], reason="customer request")
    return calls


def _plan_account(*, ticket: Ticket, ticket_type: str, text: str) -> list[ToolCall]:
    calls: list[ToolCall] = []
    own = ticket.customer.email.lower()
    if ticket_type == TicketType.PASSWORD_RESET:
        calls.append(ToolCall("send_password_reset", {}))
    elif ticket_type == TicketType.ACCOUNT_CHANGE:
        others = [e for e in EMAIL_RE.findall(text) if e.lower() != own]
        if others:
            calls.append(ToolCall("request_email_change", {"new_email": others[-1]}))
        address = ADDRESS_RE.search(text)
        numbers = _orders_in(text)
        if address and numbers:
            calls.append(
                ToolCall("update_shipping_address", {"order_number": numbers[0], "address": address.group(1).strip()})
            )
    elif ticket_type == TicketType.SCHEDULING:
        when = WHEN_RE.search(text)
        if when:
            calls.append(
                ToolCall("book_appointment", {"when": f"{when.group(1)}T{when.group(2)}:00", "topic": "support"})
            )
    return calls

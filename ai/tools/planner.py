"""The local provider's deterministic planner: which tool calls a ticket's text suggests.

It reads order numbers, amounts, new email addresses, item names and dates from the text, but
never an identity: every call acts on the ticket's customer, and write calls only ever name one
of the customer's own orders. An amount in the text is a wish, capped by what the policy allows
on that order; tools the workspace has not enabled are never planned.

Besides the ticket type it reads what the customer asks for, in the order they ask: cancel an
order not yet shipped, exchange or modify items, change a shipping address, return for a refund.
An explicit ask for a person, or a request the written policy cannot grant, hands the ticket over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ai.agent.phrasing import (
    asks_for_human,
    asks_for_human_if_not_handled,
    conditions,
    fallback_starts,
    outside_policy,
)
from ai.tools.base import ToolCall, ToolRefused
from ai.tools.connector import OrderInfo, ShopConnector, connector_for
from ai.tools.policy import policy_for, policy_now
from ai.tools.registry import permissions
from audit.services import Actor
from helpdesk.models import HUMAN_NEEDED_TYPES, OrderStatus, Ticket, TicketType

if TYPE_CHECKING:
    from ai.tools.session import ToolSession

ORDER_RE = re.compile(r"(?<![\w@.])#?([A-Z]{1,4}-?\d{3,10})\b", re.IGNORECASE)
AMOUNT_RE = re.compile(
    r"(?:[$€£]\s?(\d{1,9}(?:[.,]\d{1,2})?))|(?:\b(\d{1,9}(?:[.,]\d{1,2})?)\s?(?:usd|eur|gbp|dollars?|euros?)\b)",
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
WHEN_RE = re.compile(r"\b(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})\b")
ADDRESS_RE = re.compile(
    r"(?:new address(?: is)?|address(?:es)? to(?: be)?|ship (?:it |them )?to|deliver (?:it |them )?to)\s*[:\-]?\s*"
    r"(\d[^\n]{8,300}?)(?:\.\s|\.$|\n|$)",
    re.IGNORECASE,
)
# A street address written out: "1234 Elm St, Springfield, IL, 62701".
STREET_RE = re.compile(
    r"\b(\d{1,6}\s+(?:[A-Z][\w'.-]*\s+){1,4}(?:St|Street|Ave|Avenue|Rd|Road|Dr|Drive|Ln|Lane|Blvd|Boulevard|Way|"
    r"Ct|Court|Pl|Place|Highway|Hwy|Terrace|Parkway)\b\.?(?:,\s*[^,.\n]{2,40}){0,4})",
)

SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]?")
CANCEL_RE = re.compile(r"(?i)\b(?:cancel(?:l?ing)?|call off|(?:be|get|have (?:it|them)) cancell?ed)\b")
EXCHANGE_RE = re.compile(
    r"(?i)\b(?:exchange|swap|switch|upgrade|downgrade|modify|change|adjust|replace|replacement|"
    r"another (?:size|colou?r)|(?:a |one )?size (?:smaller|bigger|larger|up|down)|wrong (?:size|colou?r|item))\b"
)
RETURN_RE = re.compile(
    r"(?i)\b(?:return(?:ing)?|refund(?:ed)?|money back|send (?:it|them|this|these) back|reimburse\w*)\b"
    r"(?!\s+(?:policy|window|label|period))"
)
ADDRESS_WORD_RE = re.compile(r"(?i)\b(?:address|ship(?:ping)? to|deliver(?:y|ed)? to|sent to)\b")
ACCOUNT_WORD_RE = re.compile(r"(?i)\b(?:e-?mail|password|phone|username|user name|login|newsletter)\b")
CHANGE_WORD_RE = re.compile(r"(?i)\b(?:change|update|modify|correct|fix|switch|move|moved|wrong|typed|typo|instead)\b")
NEGATED_RE = re.compile(
    r"(?i)(?:\b(?:not|never|no)\b|n't)\s+(?:\w+\s+){0,2}$"  # "I do not want to cancel", "don't cancel"
)
# Write intents, by the first place the text asks for them.
CANCEL, EXCHANGE, ADDRESS, RETURN = "cancel", "exchange", "address", "return"
ORDER_TYPES = (TicketType.ORDER_STATUS, TicketType.REFUND, TicketType.REPLACEMENT)


@dataclass(frozen=True)
class Intent:
    kind: str
    at: int
    # Asked only in case the request before it cannot be done ("if not possible, cancel it").
    fallback: bool = False


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


def _asked(pattern: re.Pattern[str], sentence: str) -> int:
    """Where in the sentence the customer asks for it (-1: not asked, or asked NOT to)."""
    for match in pattern.finditer(sentence):
        if not NEGATED_RE.search(sentence[: match.start()]):
            return match.start()
    return -1


def intents(text: str) -> list[Intent]:
    """The write actions the text asks for, first asked first; each kind once. A condition
    ("if the tablet is returned, ...") asks for nothing; what follows a failed condition ("if that
    is not possible, cancel the order") is a fallback."""
    masked = text
    for start, end, _ in conditions(text):
        masked = masked[:start] + " " * (end - start) + masked[end:]
    fallbacks = fallback_starts(text)
    found: dict[str, int] = {}
    for sentence_match in SENTENCE_RE.finditer(masked):
        sentence = sentence_match.group(0)
        base = sentence_match.start()
        about_address = bool(ADDRESS_WORD_RE.search(sentence)) and bool(CHANGE_WORD_RE.search(sentence))
        hits = {
            CANCEL: _asked(CANCEL_RE, sentence),
            RETURN: _asked(RETURN_RE, sentence),
            # "change my address" is an address change, not an item exchange.
            EXCHANGE: -1 if about_address or ACCOUNT_WORD_RE.search(sentence) else _asked(EXCHANGE_RE, sentence),
            ADDRESS: _asked(CHANGE_WORD_RE, sentence) if about_address else -1,
        }
        for kind, at in hits.items():
            if at >= 0 and kind not in found:
                found[kind] = base + at
    ends = [m.end() for m in SENTENCE_RE.finditer(text)]

    def is_fallback(at: int) -> bool:
        # A fallback runs from where it starts to the end of its sentence.
        return any(f <= at < next((e for e in ends if e > f), len(text)) for f in fallbacks)

    return sorted((Intent(kind, at, is_fallback(at)) for kind, at in found.items()), key=lambda i: i.at)


def _address(text: str) -> str:
    match = ADDRESS_RE.search(text) or STREET_RE.search(text)
    return match.group(1).strip().rstrip(".,") if match else ""


def _words(text: str) -> set[str]:
    return {w.removesuffix("s") for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2}


def _named_items(order: OrderInfo, text: str) -> list[str]:
    """SKUs of the order's items the text names ("the desk lamp", "my keyboards"): the item
    name's last word (its noun) is enough."""
    words = _words(text)
    named = []
    for item in order.items:
        noun = re.findall(r"[a-z]+", item.name.lower())
        if noun and noun[-1].removesuffix("s") in words:
            named.append(item.sku)
    return named


class _Orders:
    """The customer's orders the planner may act on: those the text names, else their latest."""

    def __init__(self, *, ticket: Ticket, text: str, session: ToolSession | None = None) -> None:
        self.email = ticket.customer.email
        self.connector: ShopConnector = (
            session.connector() if session is not None else connector_for(ticket=ticket, actor=Actor.system("planner"))
        )
        self.numbers = _orders_in(text)
        self.text = text
        self._named: list[OrderInfo] | None = None
        self._recent: list[OrderInfo] | None = None

    def named(self) -> list[OrderInfo]:
        if self._named is None:
            found = (self.connector.get_order(n) for n in self.numbers[:3])
            self._named = [o for o in found if o is not None]
        return self._named

    def recent(self) -> list[OrderInfo]:
        if self._recent is None:
            self._recent = self.connector.recent_orders(self.email, limit=10)
        return self._recent

    def pick(self, statuses: tuple[str, ...], usable: Callable[[OrderInfo], bool] | None = None) -> OrderInfo | None:
        """The customer's own order in one of `statuses`: a named one first, else the one whose
        items the text names most (earlier statuses win a tie), else the latest."""
        own = [o for o in self.named() if o.belongs_to(self.email)]
        if own:
            fitting = [o for o in own if o.status in statuses and (usable is None or usable(o))]
            return fitting[0] if fitting else None
        if self.numbers:
            return None  # the numbers given are not the customer's: nothing to act on
        candidates = [
            o
            for o in self.recent()
            if o.status in statuses and o.belongs_to(self.email) and (usable is None or usable(o))
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda o: (len(_named_items(o, self.text)), -statuses.index(o.status)))


def plan_tool_calls(
    *, ticket: Ticket, ticket_type: str, text: str, session: ToolSession | None = None
) -> list[ToolCall]:
    """Calls the text suggests for this ticket type, among the workspace's enabled tools."""
    allowed = session.permissions() if session is not None else permissions(ticket.workspace_id)
    enabled = {name for name, p in allowed.items() if p.enabled}
    calls: list[ToolCall] = []

    def add(tool: str, **args: object) -> None:
        call = ToolCall(tool, dict(args))
        if tool in enabled and call not in calls:
            calls.append(call)

    if ticket_type in HUMAN_NEEDED_TYPES:
        add("escalate_to_human", reason=f"{TicketType(ticket_type).label} tickets need a person")
        return calls
    if asks_for_human(text):
        add("escalate_to_human", reason="the customer asks for a person")
        return calls
    if outside_policy(text):
        add("escalate_to_human", reason="the request is outside the written policy")
        return calls
    if ticket_type in (TicketType.PASSWORD_RESET, TicketType.SCHEDULING):
        return [
            call
            for call in _plan_account(ticket=ticket, ticket_type=ticket_type, text=text, session=session)
            if call.tool in enabled
        ]

    wanted = intents(text)
    if ticket_type == TicketType.ACCOUNT_CHANGE:
        account = [
            c
            for c in _plan_account(ticket=ticket, ticket_type=ticket_type, text=text, session=session)
            if c.tool in enabled
        ]
        calls.extend(account)
        if any(c.tool == "update_shipping_address" for c in account):
            wanted = [i for i in wanted if i.kind != ADDRESS]  # the account plan handled it
    if not wanted and ticket_type == TicketType.REFUND:
        wanted = [Intent(RETURN, 0)]
    elif not wanted and ticket_type == TicketType.REPLACEMENT:
        wanted = [Intent(EXCHANGE, 0)]
    if not wanted and ticket_type not in ORDER_TYPES:
        return calls

    orders = _Orders(ticket=ticket, text=text, session=session)
    if not wanted:  # an order question: look up what the customer names, else their latest order
        for order in orders.named() or orders.recent()[:1]:
            add("lookup_order", order_number=order.number)
        return calls

    writes: list[ToolCall] = []
    looked_up: list[str] = []
    done = False  # did the request before this one get a call that can go through?
    for n, intent in enumerate(wanted):
        if intent.fallback and done:
            continue  # the request it stands in for can be done
        call = _write_for(intent, ticket=ticket, text=text, orders=orders)
        if call is not None and call.tool not in enabled:
            call = None
        done = call is not None and _feasible(call, orders)
        has_fallback = n + 1 < len(wanted) and wanted[n + 1].fallback
        if call is None or (not done and has_fallback):
            continue  # the customer said what to do instead: no call bound to be refused
        writes.append(call)
        if call.args["order_number"] not in looked_up:
            looked_up.append(call.args["order_number"])
    if not calls and not any(_feasible(c, orders) for c in writes) and asks_for_human_if_not_handled(text):
        # The customer asked for something the Agent cannot do, and said to hand over then.
        add("escalate_to_human", reason="the request cannot be handled and the customer asked for a person then")
        return calls
    for number in looked_up or [o.number for o in orders.named()[:3]]:
        add("lookup_order", order_number=number)
    for call in writes:
        add(call.tool, **call.args)
    return calls


def _feasible(call: ToolCall, orders: _Orders) -> bool:
    """Whether the tool will accept the call. Only an exchange is planned on an order the tool
    may refuse (it replaces delivered items only), so the reply can explain the refusal."""
    if call.tool != "create_replacement":
        return True
    order = next((o for o in orders.named() + orders.recent() if o.number == call.args["order_number"]), None)
    return order is not None and order.status == OrderStatus.DELIVERED


SAME_AS_RE = re.compile(
    r"(?i)\bsame\s+(?:address\s+)?as\s+(?:(?:in|on|for|of)\s+)?(?:my\s+|the\s+)?(?:other\s+)?(?:order\s+)?"
    r"#?([A-Z]{1,4}-?\d{3,10})\b"
)
# Everyday short names of places, so "my NYC address" finds the address that says New York.
PLACE_ALIASES = {
    "nyc": "new york",
    "big apple": "new york",
    "la": "los angeles",
    "sf": "san francisco",
    "dc": "washington",
    "philly": "philadelphia",
}


def _places(address: str) -> list[str]:
    """The named parts of an address ("12 Elm Avenue, Apt 3, Houston, TX" -> Elm Avenue, Houston)."""
    parts = [re.sub(r"^\d+[\w-]*\s+", "", p.strip()) for p in address.split(",")]
    return [p for p in parts if len(p) >= 3 and not re.search(r"\d", p) and p.upper() not in ("USA", "US")]


def _known_addresses(text: str, orders: _Orders) -> dict[str, str]:
    """Addresses the customer points at instead of writing one out, on their own orders ("the same
    as order W123", "my NYC address, it is on my other order"): {address: order number}."""
    own = [o for o in orders.named() + orders.recent() if o.belongs_to(orders.email) and o.shipping_address]
    if same := SAME_AS_RE.search(text):
        ref = next((o for o in own if o.number.upper() == same.group(1).upper()), None)
        return {ref.shipping_address: ref.number} if ref else {}
    said = " ".join(s.group(0) for s in SENTENCE_RE.finditer(text) if ADDRESS_WORD_RE.search(s.group(0))).lower()
    for short, long in PLACE_ALIASES.items():
        said = re.sub(rf"\b{short}\b", long, said)
    found: dict[str, str] = {}
    for order in own:
        if any(re.search(rf"\b{re.escape(p.lower())}\b", said) for p in _places(order.shipping_address)):
            found.setdefault(order.shipping_address, order.number)
    return found


def _address_change(*, text: str, orders: _Orders) -> ToolCall | None:
    """The new address written out, else the one the customer points at on another of their
    orders, moved onto their order not yet shipped. Nothing when it is unclear which address is
    meant: the reply asks for it rather than guessing."""
    if written := _address(text):
        order = orders.pick((OrderStatus.PENDING, OrderStatus.PROCESSING))
        if order is None:
            return None
        return ToolCall("update_shipping_address", {"order_number": order.number, "address": written})
    known = _known_addresses(text, orders)
    # The order to change is one the address is not already on (the customer names both places:
    # "move my LA order to my NYC address").
    order = orders.pick(
        (OrderStatus.PENDING, OrderStatus.PROCESSING),
        usable=lambda o: any(a != o.shipping_address and n != o.number for a, n in known.items()),
    )
    if order is None:
        return None
    new = [a for a, n in known.items() if a != order.shipping_address and n != order.number]
    if len(new) != 1:
        return None
    return ToolCall("update_shipping_address", {"order_number": order.number, "address": new[0]})


def _write_for(intent: Intent, *, ticket: Ticket, text: str, orders: _Orders) -> ToolCall | None:
    if intent.kind == CANCEL:
        order = orders.pick((OrderStatus.PENDING, OrderStatus.PROCESSING))
        return ToolCall("cancel_order", {"order_number": order.number, "reason": "customer request"}) if order else None
    if intent.kind == ADDRESS:
        return _address_change(text=text, orders=orders)
    if intent.kind == EXCHANGE:
        # The order whose items the customer names; a pending one gets the tool's own refusal
        # (only delivered orders are exchanged), which the reply then explains.
        order = orders.pick((OrderStatus.DELIVERED, OrderStatus.PENDING, OrderStatus.PROCESSING))
        if order is None:
            return None
        args: dict[str, object] = {"order_number": order.number, "reason": "customer request"}
        if skus := _named_items(order, text):
            args["skus"] = skus
        return ToolCall("create_replacement", args)
    policy = policy_for(ticket.workspace)

    def refundable_or_none(order: OrderInfo) -> Decimal | None:
        try:
            return policy.refundable(order, now=policy_now())
        except ToolRefused:
            return None

    order = orders.pick((OrderStatus.DELIVERED,), usable=lambda o: refundable_or_none(o) is not None)
    refundable = refundable_or_none(order) if order is not None else None
    if order is None or refundable is None:
        return None
    named = _named_items(order, text)
    items_total = sum((i.price * i.qty for i in order.items if i.sku in named), start=Decimal("0.00"))
    wished = _amount(text) or (items_total if named and items_total > 0 else None)
    amount = min(wished, refundable) if wished else refundable
    return ToolCall("issue_refund", {"order_number": order.number, "amount": str(amount), "reason": "customer request"})


def _plan_account(*, ticket: Ticket, ticket_type: str, text: str, session: ToolSession | None = None) -> list[ToolCall]:
    calls: list[ToolCall] = []
    own = ticket.customer.email.lower()
    if ticket_type == TicketType.PASSWORD_RESET:
        calls.append(ToolCall("send_password_reset", {}))
    elif ticket_type == TicketType.ACCOUNT_CHANGE:
        others = [e for e in EMAIL_RE.findall(text) if e.lower() != own]
        if others:
            calls.append(ToolCall("request_email_change", {"new_email": others[-1]}))
        if _address(text):
            change = _address_change(text=text, orders=_Orders(ticket=ticket, text=text, session=session))
            if change is not None:
                calls.append(change)
    elif ticket_type == TicketType.SCHEDULING:
        when = WHEN_RE.search(text)
        if when:
            calls.append(
                ToolCall("book_appointment", {"when": f"{when.group(1)}T{when.group(2)}:00", "topic": "support"})
            )
    return calls

"""From the customer's asks to tool calls: one step per ask, with what stops it.

Each ask that needs something done maps to one tool (ai.agent.asks.TOOL_FOR). The planner finds
the order the ask is about among the customer's OWN orders (a number in the text that is not
theirs is never acted on), checks the written shop policy against that order's data (delivery
date and return window, final-sale items and gift cards, shipped or not), and fills the tool's
arguments. What it cannot fill or what the policy forbids becomes the step's `problem`, which the
reply states and which keeps the reply from being sent on its own:

  missing:<slot>   the customer has to tell us something (which order, the new address, a time)
  policy:<reason>  the written policy forbids it: a person decides (policy_exception)
  no_tool          nothing in the allow-listed tool set can do it: a person does it
  order:<reason>   the order cannot take this action now (not delivered yet, not found)

Tools the workspace has not enabled are still planned: the runner refuses them, and the reply
says which tool it needed, so the admin sees what enabling it would change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ai.agent import asks as A
from ai.agent.asks import Ask
from ai.agent.lexicon import DAMAGE_WORDS, DEFECT_WORDS, GLOSSARY, KEEP_CLAUSE_RE, USED_RE, VARIANT_RE
from ai.agent.when import fold
from ai.tools.base import ToolCall, ToolRefused
from ai.tools.connector import ItemInfo, OrderInfo, ShopConnector, connector_for
from ai.tools.policy import policy_for, policy_now
from audit.services import Actor
from helpdesk.models import HUMAN_NEEDED_TYPES, OrderStatus, Ticket, TicketType

if TYPE_CHECKING:
    from ai.tools.session import ToolSession

NOT_SHIPPED = (OrderStatus.PENDING, OrderStatus.PROCESSING)
DAMAGE_OR_WRONG_RE = re.compile(
    rf"\b(?:{DAMAGE_WORDS}|wrong|not\s+what\s+i\s+ordered|missing|"
    r"danad|roto|rota|defectuos|equivocad|abime|casse|defectueu|mauvais|beschadigt|kaputt|defekt|falsch|rott|"
    r"sbagliat|partid|errad)\w*|"
    rf"\b(?:{DEFECT_WORDS})\b"
)
# The shop's fault (damaged, defective, sent wrong): a return that costs the customer no label fee.
# "I ordered the wrong size" is not on this list: that return pays the fee.
SHOP_FAULT_RE = re.compile(
    rf"\b(?:{DAMAGE_WORDS}|not\s+what\s+i\s+ordered|"
    r"(?:sent|shipped|got|received)\s+(?:me\s+)?(?:the\s+|a\s+)?wrong|wrong\s+(?:item|product)|"
    r"danad|roto|rota|defectuos|abime|casse|defectueu|beschadigt|kaputt|defekt|rott|partid)\w*|"
    rf"\b(?:{DEFECT_WORDS})\b"
)
WHOLE_ORDER_RE = re.compile(
    r"\b(?:everything|all\s+(?:of\s+)?(?:it|them|the\s+items)|(?:the\s+)?(?:whole|entire|full)\s+order|"
    r"todo\s+el\s+pedido|toda\s+la\s+compra|pedido\s+complet[oa]|toute\s+la\s+commande|commande\s+(?:entiere|complete)|"
    r"tout\b|(?:die\s+)?(?:ganze|gesamte|komplette)\s+bestellung|alles|tutto|l'ordine\s+completo|tudo|"
    r"(?:my|the)\s+(?:whole|entire)\s+order|both\s+(?:items|of\s+them)|toute\s+ma\s+commande|todo\s+mi\s+pedido|"
    r"meine\s+(?:ganze|gesamte|komplette)\s+bestellung|tutto\s+il\s+mio\s+ordine|toda\s+a\s+minha\s+encomenda|"
    r"les\s+deux|ambos|beide|entrambi)\b"
)
ANY_STATUS = tuple(OrderStatus.values)
TOPIC_RE = re.compile(
    r"(?i)\b((?:boot\s+|ski\s+|bike\s+|bicycle\s+|in-store\s+)?(?:fitting|tune-?up|service|repair|consultation|"
    r"session|appointment|demo|call|visit))\b"
)


@dataclass
class Step:
    """One ask and what the Agent does about it."""

    ask: Ask
    call: ToolCall | None = None
    problem: str = ""
    order: OrderInfo | None = None
    notes: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "ask": self.ask.as_json(),
            "tool": self.call.tool if self.call else "",
            "args": dict(self.call.args) if self.call else {},
            "problem": self.problem,
            "order": self.order.number if self.order else "",
            "notes": dict(self.notes),
        }


@dataclass
class Plan:
    steps: list[Step]
    customer_orders: int = 0  # how many orders the customer has (when it was read)

    @property
    def calls(self) -> list[ToolCall]:
        """A look-up of each order an ask is about (the person reviewing sees it, the reply can
        rest on it), then each step's call once, in the order asked."""
        calls: list[ToolCall] = []
        for step in self.steps:
            if step.order is not None:
                lookup = ToolCall("lookup_order", {"order_number": step.order.number})
                if lookup not in calls:
                    calls.append(lookup)
        for step in self.steps:
            if step.call is not None and step.call not in calls:
                calls.append(step.call)
        return calls


def _words(text: str) -> set[str]:
    raw = [w for w in re.findall(r"[a-z]+", fold(text)) if len(w) > 2]
    words = {w.removesuffix("s") for w in raw}
    return words | {GLOSSARY[w] for w in raw if w in GLOSSARY} | {GLOSSARY[w] for w in words if w in GLOSSARY}


def _mentions(item: ItemInfo, words: set[str], raw: str) -> bool:
    parts = [w.removesuffix("s") for w in re.findall(r"[a-z]+", fold(item.name)) if len(w) > 2]
    if not parts:
        return False
    if parts[-1] in words or len(set(parts) & words) >= 2:
        return True
    # "(taille W-M)": the size as the order line has it, next to a word of the item's name.
    return bool(item.size) and len(item.size) >= 2 and item.size.lower() in raw.lower() and bool(set(parts) & words)


def _noun(name: str) -> str:
    words = re.findall(r"[a-z]+", fold(name))
    return words[-1].removesuffix("s") if words else ""


def named_items(order: OrderInfo, text: str) -> list[str]:
    """SKUs of the order's items the text asks about ("the left boot", "mi chaqueta"): an item's
    last word (its noun, in any of the languages of GLOSSARY), or two of its words. Items in a
    clause that keeps them ("the windbreaker is fine", "je le garde") are left out."""
    clauses = re.split(r"[,;.!?\n]|\b(?:but|pero|mais|aber|ma|mas)\b", fold(text))
    asked = " ".join(c for c in clauses if not KEEP_CLAUSE_RE.search(c))
    kept = " ".join(c for c in clauses if KEEP_CLAUSE_RE.search(c))
    asked_words, kept_words = _words(asked), _words(kept)
    named = [i.sku for i in order.items if _mentions(i, asked_words, asked)]
    if not named:
        return []
    return [
        sku for sku in named if not any(i.sku == sku and _mentions(i, kept_words, kept) for i in order.items)
    ] or named


class CustomerOrders:
    """The ticket customer's orders, read at most once per plan."""

    def __init__(self, *, ticket: Ticket, session: ToolSession | None = None) -> None:
        self.email = ticket.customer.email
        self.connector: ShopConnector = (
            session.connector() if session is not None else connector_for(ticket=ticket, actor=Actor.system("planner"))
        )
        self._by_number: dict[str, OrderInfo | None] = {}
        self._recent: list[OrderInfo] | None = None

    def get(self, number: str) -> OrderInfo | None:
        key = number.upper().lstrip("#")
        if key not in self._by_number:
            self._by_number[key] = self.connector.get_order(key)
        return self._by_number[key]

    def recent(self) -> list[OrderInfo]:
        if self._recent is None:
            self._recent = [o for o in self.connector.recent_orders(self.email, limit=10) if o.belongs_to(self.email)]
        return self._recent

    def resolve(self, ask: Ask, statuses: tuple[str, ...], text: str) -> tuple[OrderInfo | None, str]:
        """The order `ask` is about and, when none fits, why: the number named (which must be
        the customer's own), else the one of their orders in `statuses` the text points at."""
        numbers = [str(n) for n in ask.slots.get("orders") or ([ask.slots["order"]] if ask.slots.get("order") else [])]
        for number in numbers:
            order = self.get(number)
            if order is None or not order.belongs_to(self.email):
                continue  # another customer's order is never confirmed to exist
            if order.status in statuses:
                return order, ""
            return order, f"order:{order.status}"
        if numbers:
            return None, f"order:not_found:{numbers[0]}"
        candidates = [o for o in self.recent() if o.status in statuses]
        if len(candidates) == 1:
            return candidates[0], ""
        if len(candidates) > 1:
            scored = sorted(((len(named_items(o, text)), o) for o in candidates), key=lambda p: -p[0])
            if scored[0][0] > 0 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
                return scored[0][1], ""
            return None, "missing:order"
        others = self.recent()
        if len(others) == 1:
            return others[0], f"order:{others[0].status}"
        return None, "missing:order"


# An order of more units than this is not searched for the combination a named amount matches.
MAX_UNITS_CHECKED = 12


def amount_is_returned_goods(
    wished: Decimal, order: OrderInfo, items: list[ItemInfo], fee: Decimal | None, *, shop_fault: bool
) -> bool:
    """Whether an amount the customer names is what a return refunds: the price of some of the
    refundable items, with or without the original shipping and the return-label fee, or the
    shipping alone for an item that arrived damaged or wrong. Any other amount ("refund the 50.00
    difference") is a price adjustment, which the policy leaves to a person."""
    units = [i.price for i in items for _ in range(max(1, i.qty))]
    if len(units) > MAX_UNITS_CHECKED:
        return True  # too many combinations to tell: the approval rules still watch the amount
    shipping = max(Decimal("0.00"), order.total - sum((i.price * i.qty for i in order.items), start=Decimal("0.00")))
    sums = {Decimal("0.00")}
    for price in units:
        sums |= {s + price for s in sums}
    extras = [Decimal("0.00"), shipping, -(fee or Decimal("0.00")), shipping - (fee or Decimal("0.00"))]
    if shop_fault and shipping > 0 and wished == shipping:
        return True
    return any(total > 0 and total + extra == wished for total in sums for extra in extras)


def _refund(step: Step, *, ticket: Ticket, orders: CustomerOrders, text: str) -> None:
    order, problem = orders.resolve(step.ask, (OrderStatus.DELIVERED,), text)
    step.order = order
    if order is None:
        step.problem = problem
        return
    if problem:
        if order.status == OrderStatus.SHIPPED:
            # On its way: the answer is where it is and that it can come back once it arrives.
            step.call = ToolCall("lookup_order", {"order_number": order.number})
            step.notes["explain"] = "return_after_delivery"
        elif order.status in NOT_SHIPPED:
            step.problem = "order:not_shipped"
        elif order.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
            # Already back with us: the answer is what was refunded (a refund-status question).
            step.call = ToolCall("lookup_order", {"order_number": order.number})
            step.ask = Ask(A.REFUND_STATUS, step.ask.slots, (), step.ask.fallback, step.ask.sentence)
        else:
            step.problem = problem
        return
    policy = policy_for(ticket.workspace)
    folded = fold(text)
    if USED_RE.search(folded):
        step.problem = "policy:returns are accepted unused only, and the customer says the item was used"
        return
    named = named_items(order, step.ask.sentence or text) or named_items(order, text)
    blocked = [i for i in order.items if i.sku in named and not policy.item_refundable(i)]
    if named and len(blocked) == len(named):
        gift = any(i.sku.upper().startswith(policy.non_refundable_sku_prefixes) for i in blocked)
        kind = "gift cards" if gift else "final-sale items"
        step.problem = f"policy:{kind} are never refundable"
        return
    try:
        refundable = policy.refundable(order, now=policy_now())
    except ToolRefused as exc:
        step.problem = f"policy:{exc.reason}"
        return
    whole = bool(WHOLE_ORDER_RE.search(folded))
    if whole:
        named = [i.sku for i in order.items]  # "my whole order (the vest and the top)": everything
        blocked = [i for i in order.items if not policy.item_refundable(i)]
    items_total = sum(
        (i.price * i.qty for i in order.items if i.sku in named and policy.item_refundable(i)), start=Decimal("0.00")
    )
    wished = Decimal(step.ask.slots["amount"]) if step.ask.slots.get("amount") else None
    refundable_items = [i for i in order.items if policy.item_refundable(i)]
    if blocked:
        step.notes["not_refundable"] = ", ".join(i.name for i in blocked)
    shop_fault, fee = bool(SHOP_FAULT_RE.search(folded)), policy.return_fee_for(order)
    if wished is not None and not amount_is_returned_goods(wished, order, refundable_items, fee, shop_fault=shop_fault):
        step.problem = "policy:we refund the price of the items sent back, not other amounts such as a price difference"
        return
    if not wished and not named and len(refundable_items) > 1 and not whole:
        step.problem = "missing:items"  # which of several items goes back is the customer's to say
        return
    # The price of what comes back: the items named, else every refundable item. The order total
    # may hold shipping, which a return of an item that arrived as ordered does not refund.
    goods = sum((i.price * i.qty for i in refundable_items), start=Decimal("0.00"))
    amount = wished or (items_total if items_total > 0 else (goods if goods > 0 else refundable))
    if amount > refundable:
        step.notes["capped_from"] = str(amount)
        amount = refundable
    if (not wished or amount == items_total) and not shop_fault:
        if fee is None:
            step.problem = "return fee: the order's address names no country the shop returns from for free or not"
            return
        if fee >= amount:
            step.problem = f"return fee: the {fee} label fee is as much as the refund"
            return
        if fee:
            step.notes["return_fee"] = str(fee)  # the reply says it was deducted
            amount -= fee
    step.call = ToolCall(
        "issue_refund", {"order_number": order.number, "amount": str(amount), "reason": "customer request"}
    )


def _replace(step: Step, *, ticket: Ticket, orders: CustomerOrders, text: str) -> None:
    if not DAMAGE_OR_WRONG_RE.search(fold(text)) or (
        VARIANT_RE.search(fold(step.ask.sentence or text)) and not DAMAGE_OR_WRONG_RE.search(fold(step.ask.sentence))
    ):
        # A replacement sends again what was ordered, for an item damaged, defective, wrong or
        # missing; another size, colour or model is an exchange a person arranges.
        step.problem = "no_tool"
        return
    order, problem = orders.resolve(step.ask, (OrderStatus.DELIVERED,), text)
    step.order = order
    if order is None or problem:
        step.problem = problem or "missing:order"
        if order is not None and order.status in (OrderStatus.SHIPPED, *NOT_SHIPPED):
            step.problem = "order:not_delivered"
        return
    skus = named_items(order, step.ask.sentence) or named_items(order, text)
    if len(skus) > 1 and len({_noun(i.name) for i in order.items if i.sku in skus}) == 1:
        step.problem = "missing:items"  # several items answer to the one the customer names
        return
    prefixes = policy_for(ticket.workspace).non_refundable_sku_prefixes
    replaceable = [i.sku for i in order.items if not i.sku.upper().startswith(prefixes)]
    if not skus:
        if len(replaceable) != 1:
            step.problem = "missing:items"
            return
        skus = replaceable
    step.call = ToolCall(
        "create_replacement", {"order_number": order.number, "skus": skus, "reason": "customer request"}
    )


def _cancel(step: Step, *, orders: CustomerOrders, text: str) -> None:
    order, problem = orders.resolve(step.ask, NOT_SHIPPED, text)
    step.order = order
    partial = (
        order is not None
        and len(order.items) > 1
        and bool(named_items(order, step.ask.sentence))
        and not WHOLE_ORDER_RE.search(fold(text))
        and not re.search(r"\border\b|\bpedido\b|\bcommande\b|\bbestellung\b|\bordine\b", fold(step.ask.sentence))
    )
    if partial:
        step.problem = "no_tool"  # one item out of several: no tool removes it, a person does
    elif order is None:
        step.problem = problem
    elif order.status == OrderStatus.CANCELLED:
        step.call = ToolCall("lookup_order", {"order_number": order.number})  # the status says it all
    elif problem:
        # Shipped: nothing to cancel any more; the answer is where it is and that it can come back.
        step.call = ToolCall("lookup_order", {"order_number": order.number})
        step.notes["explain"] = "return_after_delivery" if order.status == OrderStatus.SHIPPED else "return_window"
    else:
        step.call = ToolCall("cancel_order", {"order_number": order.number, "reason": "customer request"})


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
ADDRESS_WORD_RE = re.compile(r"(?i)\b(?:address|ship(?:ping)? to|deliver(?:y|ed)? to|sent to)\b")


def _places(address: str) -> list[str]:
    """The named parts of an address ("12 Elm Avenue, Apt 3, Houston, TX" -> Elm Avenue, Houston)."""
    parts = [re.sub(r"^\d+[\w-]*\s+", "", p.strip()) for p in address.split(",")]
    return [p for p in parts if len(p) >= 3 and not re.search(r"\d", p) and p.upper() not in ("USA", "US")]


def _known_addresses(text: str, orders: CustomerOrders) -> dict[str, str]:
    """Addresses the customer points at on their own orders instead of writing one out ("the same
    as order W123", "my NYC address, it is on my other order"): {address: order number}."""
    own = [o for o in orders.recent() if o.shipping_address]
    if same := SAME_AS_RE.search(text):
        ref = orders.get(same.group(1))
        return {ref.shipping_address: ref.number} if ref and ref.belongs_to(orders.email) else {}
    said = " ".join(s for s in re.split(r"(?<=[.!?])\s+", text) if ADDRESS_WORD_RE.search(s)).lower()
    for short, long in PLACE_ALIASES.items():
        said = re.sub(rf"\b{short}\b", long, said)
    found: dict[str, str] = {}
    for order in own:
        if any(re.search(rf"\b{re.escape(p.lower())}\b", said) for p in _places(order.shipping_address)):
            found.setdefault(order.shipping_address, order.number)
    return found


def _address(step: Step, *, orders: CustomerOrders, text: str) -> None:
    """The new address written out, else one the customer points at on another of their orders;
    nothing when it is unclear which address is meant (the reply asks rather than guesses)."""
    written = step.ask.slots.get("address", "")
    known = {} if written else _known_addresses(text, orders)
    ask = step.ask
    if not ask.slots.get("order") and known:
        # The order to change is the one the address is not on already.
        pending = [o for o in orders.recent() if o.status in NOT_SHIPPED and o.number not in known.values()]
        if len(pending) == 1:
            ask = Ask(ask.intent, {**ask.slots, "order": pending[0].number}, ask.missing, ask.fallback, ask.sentence)
    order, problem = orders.resolve(ask, NOT_SHIPPED, text)
    step.order = order
    if order is not None and problem and order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        step.problem = f"policy:order {order.number} has already shipped; the address can only change before shipment"
        return
    if order is None or problem:
        step.problem = problem or "missing:order"
        return
    if not written:
        new = [a for a, n in known.items() if a != order.shipping_address and n != order.number]
        if len(new) != 1:
            step.problem = "missing:address"
            return
        written = new[0]
    step.call = ToolCall("update_shipping_address", {"order_number": order.number, "address": written})


def _booking(step: Step, text: str) -> None:
    if step.ask.missing:
        step.problem = f"missing:{step.ask.missing[0]}"
        return
    topic = TOPIC_RE.search(text)
    step.call = ToolCall(
        "book_appointment",
        {"when": step.ask.slots["when"], "topic": (topic.group(1).lower() if topic else "appointment")},
    )


def plan_asks(*, ticket: Ticket, asks: list[Ask], text: str, session: ToolSession | None = None) -> Plan:
    """One step per ask. Nothing runs here; reads of the customer's orders are cached per plan."""
    orders = CustomerOrders(ticket=ticket, session=session)
    steps: list[Step] = []
    for ask in asks:
        step = Step(ask)
        steps.append(step)
        intent = ask.intent
        if intent == A.HUMAN:
            step.call = ToolCall("escalate_to_human", {"reason": "the customer asks for a person"})
        elif intent == A.OUTSIDE_POLICY:
            step.problem = "policy:the request is outside the written policy"
        elif intent in (A.TRACK, A.REFUND_STATUS):
            order, problem = orders.resolve(ask, ANY_STATUS, text)
            step.order = order
            if order is None:
                step.problem = problem
            else:
                step.call = ToolCall("lookup_order", {"order_number": order.number})
        elif intent == A.REFUND:
            _refund(step, ticket=ticket, orders=orders, text=text)
        elif intent == A.REPLACE:
            _replace(step, ticket=ticket, orders=orders, text=text)
        elif intent == A.CANCEL:
            _cancel(step, orders=orders, text=text)
        elif intent == A.CHANGE_ADDRESS:
            _address(step, orders=orders, text=text)
        elif intent == A.CHANGE_EMAIL:
            if ask.missing:
                step.problem = "missing:new_email"
            else:
                step.call = ToolCall("request_email_change", {"new_email": ask.slots["new_email"]})
        elif intent == A.RESET_PASSWORD:
            step.call = ToolCall("send_password_reset", {})
        elif intent in (A.BOOK, A.RESCHEDULE):
            _booking(step, text)
        elif intent in (A.CHANGE_PHONE, A.CANCEL_APPOINTMENT):
            step.problem = "no_tool"
    _unmapped_statuses_to_a_person(steps)
    _drop_settled_fallbacks(steps)
    return Plan(steps, customer_orders=len(orders.recent()) if any(s.problem == "missing:order" for s in steps) else 1)


def _unmapped_statuses_to_a_person(steps: list[Step]) -> None:
    """An order whose status word the shop has not mapped (helpdesk.order_status) cannot be
    checked against the policy: a person takes the ask, told which word it was."""
    for step in steps:
        if step.order is not None and not step.order.status:
            step.call = None
            step.problem = (
                f"order:{step.order.number} has the status “{step.order.shop_status}”, which the shop has not mapped "
                "(admin: Order status words)"
            )


def _drop_settled_fallbacks(steps: list[Step]) -> None:
    """A fallback ("if not possible, cancel it") only counts when the ask before it cannot be
    done; when that ask can, the fallback is dropped. A fallback whose first choice was not
    understood at all ("split the payment; if not, cancel the order") is never acted on: a person
    reads what the customer wanted first."""
    for i, step in enumerate(steps):
        if not step.ask.fallback:
            continue
        before = steps[i - 1] if i > 0 else None
        if before is not None and before.call is not None and not before.problem:
            steps[i] = Step(step.ask, problem="fallback")
        elif before is None or before.ask.intent in (A.OTHER, A.QUESTION):
            steps[i] = Step(step.ask, problem="unclear:the customer's first choice was not understood")
    steps[:] = [s for s in steps if s.problem != "fallback"]


def plan_tool_calls(
    *, ticket: Ticket, ticket_type: str = "", text: str, session: ToolSession | None = None
) -> list[ToolCall]:
    """The calls the text's asks need (the flat list the runner checks); a ticket of a type that
    needs a person gets the hand-over only."""
    from ai.agent.asks import extract_asks

    if ticket_type in HUMAN_NEEDED_TYPES:
        return [ToolCall("escalate_to_human", {"reason": f"{TicketType(ticket_type).label} tickets need a person"})]
    asks = extract_asks(text, customer_email=ticket.customer.email, now=policy_now())
    return plan_asks(ticket=ticket, asks=asks, text=text, session=session).calls

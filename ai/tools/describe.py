"""Tool calls in words, for the people who approve them and the Copilot that proposes them.

"Refund 149.00 USD on order OO-10440 to the original payment method" reads at a glance where
`issue_refund {'order_number': 'OO-10440', 'amount': '149.00'}` does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_Words = Callable[[dict[str, Any], str], str]


def _s(args: dict[str, Any], key: str, default: str = "?") -> str:
    value = args.get(key)
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or default
    return str(value) if value not in (None, "") else default


_WORDS: dict[str, _Words] = {
    "issue_refund": lambda a, cur: (
        f"Refund {_s(a, 'amount')} {cur} on order {_s(a, 'order_number')} to the original payment method"
    ),
    "create_replacement": lambda a, cur: (
        f"Send a free replacement of {_s(a, 'skus', 'the damaged items')} on order {_s(a, 'order_number')}"
    ),
    "update_shipping_address": lambda a, cur: (
        f"Ship order {_s(a, 'order_number')} to {_s(a, 'address')} instead of the address on file"
    ),
    "cancel_order": lambda a, cur: f"Cancel order {_s(a, 'order_number')} before it ships",
    "send_password_reset": lambda a, cur: "E-mail a password-reset link to the address on file",
    "request_email_change": lambda a, cur: (
        f"Change the account e-mail to {_s(a, 'new_email')} once the customer confirms it"
    ),
    "book_appointment": lambda a, cur: f"Book {_s(a, 'topic', 'an appointment')} for {_s(a, 'when')}",
    "lookup_order": lambda a, cur: f"Look up order {_s(a, 'order_number')}",
    "escalate_to_human": lambda a, cur: f"Hand the ticket to a person ({_s(a, 'reason', 'no reason given')})",
    "reply": lambda a, cur: "Send the AI's reply to the customer",
}


def action_words(tool: str, args: dict[str, Any] | None, currency: str = "") -> str:
    """One sentence saying what the call does; an HTTP action is named with its arguments."""
    words = _WORDS.get(tool)
    args = dict(args or {})
    if words is not None:
        return words(args, currency)
    shown = ", ".join(f"{k} {v}" for k, v in args.items())
    return f"Call {tool.replace('_', ' ')}" + (f" with {shown}" if shown else "")

"""The seam between the helpdesk and the AI pipeline.

`helpdesk` must not import `ai` models; the AI app registers what runs for each committed
customer message. Until it does (or in a workspace where it is off) nothing happens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from helpdesk.models import Message

_customer_message_handlers: list[Callable[[Message], None]] = []


def on_customer_message(handler: Callable[[Message], None]) -> Callable[[Message], None]:
    if handler not in _customer_message_handlers:
        _customer_message_handlers.append(handler)
    return handler


def customer_message_committed(message: Message) -> None:
    for handler in list(_customer_message_handlers):
        handler(message)

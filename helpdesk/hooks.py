"""The seams between the helpdesk and the apps that react to it (ai, billing).

`helpdesk` must not import their models; each app registers, in its AppConfig.ready(),
what runs after a helpdesk change commits. Handlers run in `transaction.on_commit`, so they
never see a change that rolled back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from helpdesk.models import CustomerVerification, Message, Ticket, Workspace

T = TypeVar("T")


class Hook(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[T], None]] = []

    def connect(self, handler: Callable[[T], None]) -> Callable[[T], None]:
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def fire(self, value: T) -> None:
        for handler in list(self._handlers):
            handler(value)


customer_message: Hook[Message] = Hook("customer_message")  # every inbound customer message
public_reply: Hook[Message] = Hook("public_reply")  # every public reply, human or AI
ticket_reopened: Hook[Ticket] = Hook("ticket_reopened")  # a staff member reopened a ticket
# Fired INSIDE the creating transaction so each app's defaults (approval rules, plans) are
# created atomically with the workspace.
workspace_created: Hook[Workspace] = Hook("workspace_created")
# A customer proved who they are after writing (a magic link clicked). Fired INSIDE that
# transaction, so what answers it (the Agent's one re-run) commits with the proof or not at all.
customer_verified: Hook[CustomerVerification] = Hook("customer_verified")
# The demo workspace is being seeded (INSIDE that transaction, before its live tickets): the
# other apps add their part of the demo (the AI's settings and history, invoices).
demo_seeded: Hook[Workspace] = Hook("demo_seeded")


def on_customer_message(handler: Callable[[Message], None]) -> Callable[[Message], None]:
    return customer_message.connect(handler)


def customer_message_committed(message: Message) -> None:
    customer_message.fire(message)


# "Does this message ask for a person?": one detector for every channel and the Agent. The AI
# app registers it (ai.agent.asks.asks_for_human); with none registered nothing is detected.
_human_ask_detectors: list[Callable[[str], bool]] = []


def register_human_ask_detector(detector: Callable[[str], bool]) -> None:
    if detector not in _human_ask_detectors:
        _human_ask_detectors.append(detector)


def asks_for_human(text: str) -> bool:
    return any(detector(text) for detector in _human_ask_detectors)

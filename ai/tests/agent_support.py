"""Fixtures and helpers shared by the Agent/Copilot tests (imported by each test module)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ai.agent.pipeline import agent_run_for_message
from ai.models import AgentRun
from ai.tests.tools_support import verified as prove
from audit.services import Actor
from helpdesk.helpcenter_import import import_helpcenter
from helpdesk.models import Message, MessageKind, Ticket
from helpdesk.services import ticket_create, workspace_update
from helpdesk.shop import orders_load

ARTICLES = {
    "returns.md": """---
title: Returns and refunds
url: https://acme.test/help/returns
---
We want you to love what you bought.

## Return window

You can return items within 30 days after delivery for a full refund.
Refunds go back to the original payment method within 5 business days after we receive the item.

## Final sale

Gift cards and final-sale items are never refundable.
""",
    "shipping.md": """---
title: Shipping and delivery
url: https://acme.test/help/shipping
---
## Delivery times

Standard delivery takes 3 to 5 business days. Express delivery arrives the next business day.

## Tracking

Every parcel gets a tracking number by email once it ships. You can follow your parcel on the carrier's website.
""",
    "password.md": """---
title: Signing in
url: https://acme.test/help/sign-in
---
## Reset your password

Use the "Forgot password" link on the sign-in page to get a reset link by email.
The reset link is valid for 24 hours.
""",
}

ORDERS = {
    "orders": [
        {
            "number": "A1001",
            "customer_email": "carla@customer.test",
            "status": "shipped",
            "placed_at": "2026-11-10T09:00:00Z",
            "shipped_at": "2026-11-12T15:00:00Z",
            "delivered_at": None,
            "carrier": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "currency": "USD",
            "total": "950.00",
            "items": [
                {"sku": "JKT-1", "name": "Rain jacket", "size": "M", "qty": 1, "price": "950.00", "final_sale": False}
            ],
        }
    ]
}


@pytest.fixture
def helpcenter(workspace, tmp_path, django_capture_on_commit_callbacks):
    folder = tmp_path / "hc"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text)
    with django_capture_on_commit_callbacks(execute=True):
        import_helpcenter(workspace=workspace, path=folder, actor=Actor.system("test"))
    return folder


@pytest.fixture
def orders(workspace):
    return orders_load(workspace=workspace, data=ORDERS, actor=Actor.system("test"))


@pytest.fixture
def agent_mode(workspace):
    return workspace_update(workspace=workspace, actor=Actor.system("test"), changes={"mode": "agent"})


def new_ticket(
    workspace: Any,
    body: str,
    *,
    subject: str = "",
    channel: str = "email",
    email: str = "carla@customer.test",
    verified: bool = True,
) -> Ticket:
    """A ticket from a customer proven for it (unless `verified=False`): its Agent run, enqueued
    when the test's transaction would commit, sees the proof."""
    ticket = ticket_create(
        workspace=workspace,
        channel=channel,
        customer_email=email,
        customer_name="Carla Customer",
        subject=subject,
        body=body,
        created_at=datetime.now(UTC),
    )
    return prove(ticket) if verified else ticket


def first_message(ticket: Ticket) -> Message:
    return ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("created_at", "pk")[0]


def run_agent(ticket: Ticket) -> AgentRun:
    message = ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("-created_at", "-pk")[0]
    run = agent_run_for_message(message_id=message.pk)
    assert run is not None
    return run


def ai_replies(ticket: Ticket) -> list[Message]:
    return list(ticket.messages.filter(kind=MessageKind.REPLY, author_kind="ai"))

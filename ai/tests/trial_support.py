"""The trial tests' own small fixture: 3 articles, 6 ticket lines (one malformed), 3 orders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ai.models import ToolPermission

NOW = "2026-03-20T12:00:00Z"

ARTICLES = {
    "returns.md": """---
title: Returns and refunds
url: https://shop.test/help/returns
---
## Return window

You can return items within 30 days after delivery for a full refund.
Refunds go back to the original payment method within 5 business days after we receive the item.

## Final sale

Gift cards and final-sale items are never refundable.
""",
    "shipping.md": """---
title: Shipping and delivery
url: https://shop.test/help/shipping
---
## Delivery times

Standard delivery takes 3 to 5 business days. Express delivery arrives the next business day.

## Tracking

Every parcel gets a tracking number by email once it ships. You can follow your parcel on the carrier's website.
""",
    "password.md": """---
title: Signing in
url: https://shop.test/help/sign-in
---
## Reset your password

Use the "Forgot password" link on the sign-in page to get a reset link by email.
The reset link is valid for 24 hours.
""",
}

TICKETS = [
    {
        "external_id": "T-1",
        "channel": "email",
        "subject": "Refund for my boots",
        "body": "Hello, the boots from order B2001 do not fit. Please refund me the $180 for order B2001.",
        "customer": {"email": "rita@customer.test", "name": "Rita Refund"},
        "created_at": "2026-03-18T09:00:00Z",
    },
    {
        "external_id": "T-2",
        "channel": "chat",
        "subject": "Where is my parcel?",
        "body": "Where is my order B2002? It has not arrived yet, can you tell me the tracking?",
        "customer": {"email": "sam@customer.test", "name": "Sam Status"},
        "created_at": "2026-03-18T10:00:00Z",
    },
    {
        "external_id": "T-3",
        "channel": "email",
        "subject": "Legal action",
        "body": "Your product injured me. My lawyer will file a lawsuit against your company unless you pay damages.",
        "customer": {"email": "lee@customer.test", "name": "Lee Legal"},
        "created_at": "2026-03-18T11:00:00Z",
        "priority": "ignored key",
    },
    "MALFORMED",
    {
        "external_id": "T-5",
        "channel": "web",
        "subject": "Cannot sign in",
        "body": "I forgot my password and cannot sign in. How do I reset my password?",
        "customer": {"email": "pat@customer.test", "name": "Pat Password"},
        "created_at": "2026-03-19T08:00:00Z",
    },
    {
        "external_id": "T-6",
        "channel": "email",
        "subject": "Refund please",
        "body": "I would like a refund of $40 for order B2003, the scarf was not what I expected.",
        "customer": {"email": "rob@customer.test", "name": "Rob Return"},
        "created_at": "2026-03-19T09:00:00Z",
    },
]


def _item(sku: str, name: str, price: str) -> dict[str, Any]:
    return {"sku": sku, "name": name, "size": "", "qty": 1, "price": price, "final_sale": False}


ORDERS = {
    "orders": [
        {
            "number": "B2001",
            "customer_email": "rita@customer.test",
            "status": "delivered",
            "placed_at": "2026-03-01T09:00:00Z",
            "shipped_at": "2026-03-02T09:00:00Z",
            "delivered_at": "2026-03-05T09:00:00Z",
            "carrier": "UPS",
            "tracking_number": "1Z001",
            "currency": "USD",
            "total": "180.00",
            "items": [_item("BOOT-1", "Hiking boots", "180.00")],
        },
        {
            "number": "B2002",
            "customer_email": "sam@customer.test",
            "status": "shipped",
            "placed_at": "2026-03-15T09:00:00Z",
            "shipped_at": "2026-03-16T09:00:00Z",
            "delivered_at": None,
            "carrier": "DHL",
            "tracking_number": "JD0002",
            "currency": "USD",
            "total": "25.00",
            "items": [_item("SOCK-1", "Wool socks", "25.00")],
        },
        {
            # Delivered 2026-02-25: inside the 30-day window on 2026-03-20, outside it in May.
            "number": "B2003",
            "customer_email": "rob@customer.test",
            "status": "delivered",
            "placed_at": "2026-02-20T09:00:00Z",
            "shipped_at": "2026-02-21T09:00:00Z",
            "delivered_at": "2026-02-25T09:00:00Z",
            "carrier": "UPS",
            "tracking_number": "1Z003",
            "currency": "USD",
            "total": "40.00",
            "items": [_item("SCARF-1", "Silk scarf", "40.00")],
        },
    ]
}


def write_inputs(folder: Path) -> dict[str, Path]:
    hc = folder / "helpcenter"
    hc.mkdir(parents=True, exist_ok=True)
    for name, text in ARTICLES.items():
        (hc / name).write_text(text)
    tickets = folder / "tickets.jsonl"
    tickets.write_text(
        "\n".join('{"external_id": "T-4", "body": ' if t == "MALFORMED" else json.dumps(t) for t in TICKETS) + "\n"
    )
    orders = folder / "orders.json"
    orders.write_text(json.dumps(ORDERS))
    return {"helpcenter": hc, "tickets": tickets, "orders": orders}


@pytest.fixture
def trial_inputs(tmp_path: Path) -> dict[str, Path]:
    return write_inputs(tmp_path / "trial")


def enable_shop_tools(workspace: Any) -> None:
    """The workspace's real policy for these tests: refunds allowed (over 100 need approval)."""
    ToolPermission.objects.filter(
        workspace=workspace, tool__in=["lookup_order", "issue_refund", "send_password_reset", "escalate_to_human"]
    ).update(enabled=True)

"""The tau2 adapter: policy split along headings, orders mapped, tickets in the customer's voice."""

from __future__ import annotations

import datetime as dt

from ai.trial.adapters.tau2 import first_person, order_dates, policy_articles, retail_order
from helpdesk.shop import orders_validate

NOW = dt.datetime(2026, 3, 20, 12, tzinfo=dt.UTC)


def test_it_splits_the_policy_along_its_headings():
    articles = policy_articles(
        "# Policy\n\nIntro line.\n\n## Cancel\n\nOnly pending.\n\n### Detail\n\nMore.\n## Return\n\nDelivered."
    )
    assert [t for t, _ in articles] == ["Retail policy overview", "Cancel", "Return"]
    assert "### Detail" in articles[1][1]


def test_it_maps_an_order_to_the_orders_format_deterministically():
    users = {"u1": {"email": "u1@example.com"}}
    raw = {
        "order_id": "#W123456",
        "user_id": "u1",
        "status": "delivered",
        "items": [{"item_id": "9", "name": "Lamp", "price": 47.5, "options": {"size": "M"}}],
        "fulfillments": [{"tracking_id": ["TRK1"], "item_ids": ["9"]}],
        "address": {"address1": "1 Main St", "city": "Denver"},
    }
    order = retail_order(raw, users, NOW)
    assert order == retail_order(raw, users, NOW)
    assert (order["number"], order["status"], order["total"], order["tracking_number"]) == (
        "W123456",
        "delivered",
        "47.50",
        "TRK1",
    )
    assert orders_validate({"orders": [order]})
    delivered = dt.datetime.fromisoformat(order["delivered_at"])
    assert NOW - dt.timedelta(days=30) < delivered < NOW
    assert order_dates("#W1", "processed", NOW)["delivered_at"] is None


def test_it_writes_tickets_in_the_customers_voice():
    assert first_person("You received your order and you'd like a refund.") == (
        "I received my order and I'd like a refund."
    )
    assert first_person("You are Yusuf Rossi in zip code 19122.") == "I am Yusuf Rossi in zip code 19122."

"""The tau2 adapter: policy split along headings, orders mapped, tickets in the customer's voice."""

from __future__ import annotations

import datetime as dt

from ai.trial.adapters.tau2 import first_person, known_user, order_dates, policy_articles, retail_order, retail_ticket
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


def test_it_writes_tau2_typos_and_verbs_in_the_first_person():
    assert first_person("You name is Lei Wilson and your zip code is 32255.") == (
        "My name is Lei Wilson and my zip code is 32255."
    )
    assert first_person("return everything you just bought") == "return everything I just bought"


def _task(known, *, gold_user=None, reason="I want to return my lamp."):
    actions = [{"name": "get_user_details", "arguments": {"user_id": gold_user}}] if gold_user else []
    return {
        "id": "t1",
        "user_scenario": {"instructions": {"reason_for_call": reason, "known_info": known}},
        "evaluation_criteria": {"actions": actions},
    }


DB = {
    "users": {
        "ann_lee_1": {
            "email": "ann.lee@example.com",
            "name": {"first_name": "Ann", "last_name": "Lee"},
            "address": {"zip": "10001"},
        },
        "ann_lee_2": {
            "email": "ann.lee2@example.com",
            "name": {"first_name": "Ann", "last_name": "Lee"},
            "address": {"zip": "94110"},
        },
        "bo_kim_3": {
            "email": "bo.kim@example.com",
            "name": {"first_name": "Bo", "last_name": "Kim"},
            "address": {"zip": "10001"},
        },
    },
    "orders": {},
}


def test_it_identifies_the_customer_from_what_they_know_not_from_the_gold_actions():
    assert known_user(_task("You are Ann Lee in zip code 94110."), DB) == "ann_lee_2"
    assert known_user(_task("Your email is bo.kim@example.com."), DB) == "bo_kim_3"
    assert known_user(_task("You are ann_lee_1 living in 10001."), DB) == "ann_lee_1"
    # A name without a zip code could be either Ann Lee: nobody, even though the gold names one.
    assert known_user(_task("You are Ann Lee.", gold_user="ann_lee_1"), DB) is None
    ticket = retail_ticket(_task("You are Ann Lee.", gold_user="ann_lee_1"), DB, NOW)
    assert ticket["customer"]["email"] == "task-t1@customer.example"
    assert retail_ticket(_task("You are Ann Lee in zip code 94110."), DB, NOW)["customer"] == {
        "email": "ann.lee2@example.com",
        "name": "Ann Lee",
    }

from __future__ import annotations

import pytest

from ai.agent.phrasing import asks_for_human, outside_policy
from ai.agent.triage import triage
from ai.tests import tools_support
from ai.tests.tools_support import CUSTOMER, enable, make_order
from ai.tools import ToolCall, plan_tool_calls
from ai.tools.planner import intents
from helpdesk.models import OrderStatus
from helpdesk.services import ticket_create

shop = tools_support.shop  # A1001 delivered, A1003 processing, A1006 shipped, B2001 someone else's

WRITE_TOOLS = ("issue_refund", "create_replacement", "update_shipping_address", "cancel_order")


def plan(workspace, body, ticket_type):
    ticket = ticket_create(
        workspace=workspace, channel="email", customer_email=CUSTOMER, customer_name="Carla", subject="", body=body
    )
    return plan_tool_calls(ticket=ticket, ticket_type=ticket_type, text=body)


def writes(calls):
    return [c for c in calls if c.tool in WRITE_TOOLS]


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("I want to cancel my pending order, I no longer need it.", ["cancel"]),
        ("Please exchange the keyboard for the one with clicky switches.", ["exchange"]),
        ("I'd like to swap the shirt for one size smaller.", ["exchange"]),
        ("I want to modify the boots in my order to a size 8.", ["exchange"]),
        ("I typed my address wrong, please change it to 9 Elm Road, Shelbyville.", ["address"]),
        ("Cancel the pending order and return the watch I received.", ["cancel", "return"]),
        ("I want to return the lamp. I also want to exchange the chair.", ["return", "exchange"]),
        ("I do not want to cancel any orders, just exchange the hose.", ["exchange"]),
        ("What is your return policy?", []),
        ("Please change the email on my account to new@example.com.", []),
    ],
)
def test_it_reads_what_the_customer_asks_for_in_the_order_asked(text, kinds):
    assert [i.kind for i in intents(text)] == kinds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to speak to a manager.", True),
        ("Please transfer me to a human agent.", True),
        ("I want a human representative, now.", True),
        ("Let me talk to a real person please.", True),
        ("If you cannot help with this, transfer me to a human.", False),
        ("Where is my order A1001?", False),
        ("The agent said my order shipped.", False),
    ],
)
def test_it_recognises_an_explicit_ask_for_a_person(text, expected):
    assert asks_for_human(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to undo the cancellation of my order.", True),
        ("Please restore my cancelled order.", True),
        ("Refund each order to the other order's payment method.", True),
        ("Refund it to my original card please.", False),
        ("Cancel my pending order.", False),
    ],
)
def test_it_recognises_requests_outside_written_policy(text, expected):
    assert outside_policy(text) is expected


def test_triage_sends_asks_for_a_person_and_out_of_policy_requests_to_humans():
    asked = triage("I want to return my shoes but first transfer me to a human representative.")
    assert (asked.ticket_type, asked.rule) == ("complaint", "asks for a human")
    undo = triage("I cancelled my order by mistake and want you to undo the cancellation.")
    assert (undo.ticket_type, undo.rule) == ("policy_exception", "outside written policy")


def test_it_plans_a_cancel_of_the_customers_order_not_yet_shipped(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    calls = plan(workspace, "I ordered by mistake and want to cancel my order.", "order_status")
    assert writes(calls) == [ToolCall("cancel_order", {"order_number": "A1003", "reason": "customer request"})]
    assert ToolCall("lookup_order", {"order_number": "A1003"}) in calls


def test_it_plans_no_cancel_when_nothing_can_be_cancelled_or_the_order_is_anothers(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    assert writes(plan(workspace, "Please cancel order A1006.", "order_status")) == []  # shipped
    assert writes(plan(workspace, "Please cancel order B2001.", "order_status")) == []  # not hers
    assert writes(plan(workspace, "I do not want to cancel anything, where is A1003?", "order_status")) == []


def test_it_plans_an_exchange_of_the_named_item_on_the_order_that_has_it(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    make_order(workspace, "A1020", total="30.00", items=[{"sku": "LAMP-1", "name": "Desk Lamp", "price": "30.00"}])
    calls = plan(workspace, "I received my desk lamp and want to exchange it for a dimmer one.", "replacement")
    assert writes(calls) == [
        ToolCall("create_replacement", {"order_number": "A1020", "reason": "customer request", "skus": ["LAMP-1"]})
    ]


def test_it_plans_an_exchange_even_when_triage_read_it_as_an_account_change(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    calls = plan(workspace, "I want to switch the trail shoe I got for another colour.", "account_change")
    assert [c.tool for c in writes(calls)] == ["create_replacement"]


def test_it_plans_an_address_change_on_the_pending_order(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    calls = plan(workspace, "I typed my address wrong. Please change the address to 9 Elm Road, Shelbyville.", "other")
    assert writes(calls) == [
        ToolCall("update_shipping_address", {"order_number": "A1003", "address": "9 Elm Road, Shelbyville"})
    ]
    account = plan(workspace, "I moved, my new address is 12 Oak Lane, Austin, TX 73301", "account_change")
    assert writes(account) == [
        ToolCall("update_shipping_address", {"order_number": "A1003", "address": "12 Oak Lane, Austin, TX 73301"})
    ]


def test_it_asks_for_the_address_rather_than_inventing_one(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    assert writes(plan(workspace, "Please change the address of my pending order to my new home.", "other")) == []


def test_it_plans_writes_in_the_order_the_customer_asked(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    make_order(workspace, "A1022", total="55.00", items=[{"sku": "WATCH-1", "name": "Smart Watch", "price": "55.00"}])
    calls = plan(workspace, "Cancel my pending order. Also I want to return the watch I received.", "refund")
    assert [c.tool for c in writes(calls)] == ["cancel_order", "issue_refund"]
    assert writes(calls)[1].args == {"order_number": "A1022", "amount": "55.00", "reason": "customer request"}


@pytest.mark.parametrize(
    ("body", "ticket_type"),
    [
        ("I want to return my shoes. Transfer me to a human agent please.", "refund"),
        ("Please undo the cancellation of my last order and ship it fast.", "order_status"),
    ],
)
def test_it_hands_over_when_asked_for_a_person_or_outside_policy(workspace, shop, body, ticket_type):
    enable(workspace, *WRITE_TOOLS)
    calls = plan(workspace, body, ticket_type)
    assert [c.tool for c in calls] == ["escalate_to_human"]


def test_it_keeps_a_pending_order_exchange_on_that_order_for_the_tool_to_judge(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    make_order(
        workspace,
        "A1021",
        status=OrderStatus.PENDING,
        total="90.00",
        items=[{"sku": "BOOT-8", "name": "Hiking Boots", "price": "90.00"}],
    )
    calls = plan(workspace, "I want to modify the hiking boots in my order to a size 9.", "replacement")
    assert [c.args["order_number"] for c in writes(calls)] == ["A1021"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # An in-policy alternative the customer accepts: handled, not handed over.
        (
            "Refund each order to the other order's payment method. If not possible, I will agree to return "
            "everything with the original payment method.",
            False,
        ),
        ("Refund each order to the other order's payment method. If not possible, I ask for a manager.", True),
        ("I'd like compensation for the late delivery.", True),
        ("I lost the tablet I received, can you refund or reorder it?", True),
        ("If my parcel was lost, where do I ask about it?", False),
    ],
)
def test_it_escalates_out_of_policy_requests_unless_an_in_policy_fallback_is_given(text, expected):
    assert outside_policy(text) is expected


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # A condition asks for nothing; what follows a failed condition is a fallback.
        ("If the tablet is returned, also cancel the charger.", [("cancel", False)]),
        (
            "I want to change the bookshelf to 4 foot. If it is not available, cancel the whole order.",
            [("exchange", False), ("cancel", True)],
        ),
        (
            "I want to return the laptop. If it cannot be returned, see if it can be cancelled.",
            [
                ("return", False),
                ("cancel", True),
            ],
        ),
    ],
)
def test_it_reads_conditions_and_fallbacks(text, kinds):
    assert [(i.kind, i.fallback) for i in intents(text)] == kinds


def test_it_plans_the_fallback_when_the_first_request_cannot_be_done(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    make_order(
        workspace,
        "A1030",
        status=OrderStatus.PROCESSING,
        total="80.00",
        items=[{"sku": "SHELF-1", "name": "Oak Bookshelf", "price": "80.00"}],
    )
    body = "I want to change the bookshelf to a 4 foot one. If it is not available, cancel the whole order."
    # A1030 is not shipped yet and only delivered items are exchanged: the customer's fallback instead.
    assert writes(plan(workspace, body, "replacement")) == [
        ToolCall("cancel_order", {"order_number": "A1030", "reason": "customer request"})
    ]
    # Without a fallback the exchange is still planned, and the tool's refusal is explained.
    assert [
        c.tool for c in writes(plan(workspace, "I want to change the bookshelf to a 4 foot one.", "replacement"))
    ] == ["create_replacement"]


def test_it_skips_the_fallback_when_the_first_request_can_be_done(workspace, shop):
    enable(workspace, *WRITE_TOOLS)
    make_order(workspace, "A1020", total="30.00", items=[{"sku": "LAMP-1", "name": "Desk Lamp", "price": "30.00"}])
    body = "I want to exchange the desk lamp for a dimmer one. If that is not possible, cancel my pending order."
    assert [c.tool for c in writes(plan(workspace, body, "replacement"))] == ["create_replacement"]


def test_it_moves_an_order_to_an_address_the_customer_points_at_on_another_order(workspace, shop):
    from helpdesk.models import Order

    enable(workspace, *WRITE_TOOLS)
    Order.objects.filter(number="A1001").update(shipping_address="5 Park Ave, New York, NY, 10001")
    Order.objects.filter(number="A1003").update(shipping_address="7 Sunset Blvd, Los Angeles, CA, 90001")
    same = plan(workspace, "Please change the address of order A1003 to be the same as order A1001.", "other")
    moved = plan(workspace, "I want to change my LA order to my NYC address, it is on my other order.", "other")
    expected = ToolCall(
        "update_shipping_address", {"order_number": "A1003", "address": "5 Park Ave, New York, NY, 10001"}
    )
    assert writes(same) == [expected]
    assert writes(moved) == [expected]
    # Another customer's order is never a source, and a place on none of hers is asked for, not guessed.
    assert writes(plan(workspace, "Change the address of A1003 to the same as order B2001.", "other")) == []
    assert writes(plan(workspace, "Change my pending order to my Boston address.", "other")) == []


def test_it_hands_over_when_it_cannot_act_and_the_customer_asked_for_a_person_then(workspace, shop):
    enable(workspace, *WRITE_TOOLS, "escalate_to_human")
    make_order(workspace, "A1020", total="30.00", items=[{"sku": "LAMP-1", "name": "Desk Lamp", "price": "30.00"}])
    blocked = plan(
        workspace, "Please cancel order A1006. If you cannot do that, transfer me to a human.", "order_status"
    )
    assert [c.tool for c in blocked] == ["escalate_to_human"]  # A1006 has shipped: nothing to cancel
    doable = plan(
        workspace, "I want to exchange the desk lamp. If you cannot do that, transfer me to a human.", "replacement"
    )
    assert [c.tool for c in writes(doable)] == ["create_replacement"]
    assert "escalate_to_human" not in [c.tool for c in doable]

"""The customer's asks as data, and the planner that turns each ask into one tool call (or says
what stops it)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ai.agent.asks import asks_for_human, extract_asks, outside_policy
from ai.agent.triage import triage
from ai.tests import tools_support
from ai.tests.tools_support import CUSTOMER, make_order
from ai.tools import ToolCall, plan_asks
from helpdesk.models import OrderStatus
from helpdesk.services import ticket_create

shop = tools_support.shop  # A1001 delivered, A1003 processing, A1006 shipped, B2001 someone else's
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)  # a Monday


def intents(text, language="en"):
    return [a.intent for a in extract_asks(text, language=language, customer_email=CUSTOMER, now=NOW)]


def plan(workspace, body):
    ticket = ticket_create(
        workspace=workspace, channel="email", customer_email=CUSTOMER, customer_name="Carla", subject="", body=body
    )
    asks = extract_asks(body, customer_email=CUSTOMER, now=timezone.now())
    return plan_asks(ticket=ticket, asks=asks, text=body)


def calls(steps):
    return [s.call for s in steps.steps if s.call is not None]


def problems(steps):
    return [s.problem for s in steps.steps]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Where is my order A1001? It has not arrived yet.", "en", ["track"]),
        ("¿Dónde está mi pedido OO-10455? ¿Cuándo lo van a enviar?", "es", ["track"]),
        ("Bonjour, où en est ma commande ? Je n'ai toujours rien reçu.", "fr", ["track"]),
        ("Wo ist meine Bestellung? Sie ist noch nicht angekommen.", "de", ["track"]),
        ("Cancel the pending order and return the watch I received.", "en", ["cancel", "refund"]),
        ("I want to return the lamp. I also want to exchange the chair.", "en", ["refund", "replace"]),
        ("Please send me a new reset link, the old one expired.", "en", ["reset_password"]),
        ("Book me a fitting on Tuesday at 11.", "en", ["book"]),
        ("Can we move my appointment to Thursday at 3pm instead?", "en", ["reschedule"]),
        ("Please cancel my fitting appointment on Friday.", "en", ["cancel_appointment"]),
        ("Ship it to 2250 Mission St Apt 5, San Francisco, CA 94110 instead.", "en", ["change_address"]),
        ("Please change the email on my account to new@example.com.", "en", ["change_email"]),
        ("I sent the jacket back two weeks ago, when do I get my refund?", "en", ["refund_status"]),
        ("Thanks, everything's great!", "en", ["thanks"]),
        ("Is shipping free for my basket? And do you ship to Canada?", "en", ["question", "question"]),
        ("The zipper broke. Can you send me a new jacket?", "en", ["replace"]),
        # "Can you change it?" moves a booking only in a message that names one.
        ("The invoice for A1001 should be in my company's name. Can you change it?", "en", ["other"]),
        ("I have a fitting on Tuesday. Can you move it to Friday at 10?", "en", ["reschedule"]),
        # A trip cancelled says why; an order cancelled is about the order.
        ("I'd like a refund for A1001 please, I don't need it anymore (trip got cancelled).", "en", ["refund"]),
        ("My order got cancelled by mistake, please cancel the other one too.", "en", ["cancel"]),
        ("Refund for cancelled order: did the refund for my cancelled order A1003 go through?", "en", ["refund"]),
        ("Hi, ist meine Regenjacke schon raus? A1001", "de", ["track"]),
        ("I'd like to get fitted for a rain jacket at the Denver store this week.", "en", ["book"]),
        ("Non riesco ad accedere al mio account, ho dimenticato la password.", "it", ["reset_password"]),
        ("Potete spedire l'ordine A1003 al mio nuovo indirizzo? Via Roma 1, 10121 Torino.", "it", ["change_address"]),
    ],
)
def test_it_reads_what_the_customer_asks_for_in_the_order_asked(text, language, expected):
    assert intents(text, language) == expected


def test_each_ask_takes_the_order_it_names_in_a_message_about_two_orders():
    text = (
        "Return + cancel\nTwo things: I need to return my whole order A1001 (the shoes), and please cancel "
        "the vest I ordered last night (A1003), I'll find one in store instead."
    )
    asks = extract_asks(text, customer_email=CUSTOMER, now=NOW)
    assert [(a.intent, a.slots["order"]) for a in asks] == [("refund", "A1001"), ("cancel", "A1003")]


def test_a_question_that_asks_for_the_action_asked_for_is_not_a_question_apart():
    # "Can you check on it?" after a comma asks for the look-up, not for an answer of its own.
    text = (
        "Refund not received\nI sent back the jacket (order A1001) two weeks ago. UPS says it was delivered to "
        "you. I haven't seen the money back yet, can you check on it?"
    )
    assert "question" not in intents(text)


def test_it_keeps_the_details_given_and_says_what_is_missing():
    [book] = extract_asks("Book me a fitting on Tuesday at 11.", customer_email=CUSTOMER, now=NOW)
    assert (book.slots["when"], book.missing) == ("2026-12-08T11:00:00", ())
    [moved] = extract_asks("Can we move my fitting to Thursday afternoon?", customer_email=CUSTOMER, now=NOW)
    assert (moved.slots["date"], moved.missing) == ("2026-12-10", ("time",))
    [email] = extract_asks("Please update my email, the old one is gone.", customer_email=CUSTOMER, now=NOW)
    assert email.missing == ("new_email",)
    [refund] = extract_asks("Refund $20 on order A1001 please", customer_email=CUSTOMER, now=NOW)
    assert (refund.slots["order"], refund.slots["amount"]) == ("A1001", "20.00")
    spanish = "¿Pueden enviar el pedido A1003 a mi nueva dirección? Es 455 SW 8th St, Apt 12, Miami, FL 33130."
    [address] = extract_asks(spanish, language="es", customer_email=CUSTOMER, now=NOW)
    assert address.slots["address"] == "455 SW 8th St, Apt 12, Miami, FL 33130"
    [adresse] = extract_asks("Meine neue Adresse ist Talstraße 58, 79102 Freiburg.", language="de", now=NOW)
    assert adresse.slots["address"] == "Talstraße 58, 79102 Freiburg"
    # "19. Juni" and "20. Juni" end no sentence: the new time is read whole.
    german = (
        "Ich habe einen Termin am Donnerstag, 10. Dezember um 15 Uhr. "
        "Kann ich ihn auf Freitag, 11. Dezember, 16:30 Uhr verschieben?"
    )
    [moved] = extract_asks(german, language="de", customer_email=CUSTOMER, now=NOW)
    assert (moved.intent, moved.slots["when"], moved.missing) == ("reschedule", "2026-12-11T16:30:00", ())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to speak to a manager.", True),
        ("Please transfer me to a human agent.", True),
        ("Let me talk to a real person please.", True),
        ("Agent please", True),
        ("Je veux parler à un humain", True),
        ("persona", True),
        ("If you cannot help with this, transfer me to a human.", False),
        ("The agent at the store was rude about my refund", False),
        ("Where is my order A1001?", False),
    ],
)
def test_one_detector_recognises_an_explicit_ask_for_a_person(text, expected):
    assert asks_for_human(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to undo the cancellation of my order.", True),
        ("Refund each order to the other order's payment method.", True),
        (
            "Refund each order to the other order's payment method. If not possible, I will agree to return "
            "everything with the original payment method.",
            False,
        ),
        ("I'd like compensation for the late delivery.", True),
        ("If my parcel was lost, where do I ask about it?", False),
        ("Refund it to my original card please.", False),
        ("They were final sale but they don't fit at all. Please make an exception this time?", True),
        ("Könnten Sie bitte eine Ausnahme machen?", True),
    ],
)
def test_it_recognises_requests_no_policy_allows(text, expected):
    assert outside_policy(text) is expected


def test_a_condition_asks_for_nothing_and_a_failed_one_starts_a_fallback():
    asks = extract_asks(
        "I want to change the bookshelf to a 4 foot one. If it is not available, cancel the whole order.",
        customer_email=CUSTOMER,
        now=NOW,
    )
    assert [(a.intent, a.fallback) for a in asks] == [("replace", False), ("cancel", True)]
    assert intents("If the tablet is returned, also cancel the charger.") == ["cancel"]


def test_triage_types_the_ticket_from_its_asks_and_hands_over_asks_for_a_person():
    assert triage("Thanks, everything's great!").ticket_type == "other"
    assert triage("Please send me a new password reset link.").ticket_type == "password_reset"
    asked = triage("I want to return my shoes but first transfer me to a human representative.")
    assert (asked.ticket_type, asked.rule) == ("complaint", "asks for a human")
    undo = triage("I cancelled my order by mistake and want you to undo the cancellation.")
    assert (undo.ticket_type, undo.rule) == ("policy_exception", "outside written policy")


def test_words_alone_make_no_policy_exception_of_an_ask_the_order_data_decides():
    from ai.agent import asks as A
    from ai.agent.triage import _type_from

    scores = {"policy_exception": 0.8, "order_status": 0.1, "refund": 0.1}
    # "Can I still cancel?" is allowed until the order ships: the planner checks it against the order.
    cancel = [A.Ask(A.CANCEL, {"order": "A1001"})]
    assert _type_from(cancel, "policy_exception", 0.8, scores)[0] == A.primary_type(cancel)
    # A refund can be outside the policy in ways no order field shows (a price difference).
    refund = [A.Ask(A.REFUND, {"order": "A1001"})]
    assert _type_from(refund, "policy_exception", 0.8, scores)[0] == "policy_exception"


def test_a_weak_guess_that_a_person_is_needed_leaves_a_plain_question_to_the_help_center():
    from ai.agent import asks as A
    from ai.agent.triage import _type_from

    question = [A.Ask(A.QUESTION)]
    weak = {"complaint": 0.31, "troubleshooting": 0.21, "product_question": 0.1}
    assert _type_from(question, "complaint", 0.31, weak)[0] == "product_question"
    # Something went wrong, or the classifier is sure: a person takes it.
    assert _type_from(question, "complaint", 0.31, weak, trouble=True)[0] == "complaint"
    assert _type_from(question, "troubleshooting", 0.7, {"troubleshooting": 0.7})[0] == "troubleshooting"


# ------------------------------------------------------------------------------ planner


def test_it_plans_a_cancel_of_the_customers_order_not_yet_shipped(workspace, shop):
    assert calls(plan(workspace, "I ordered by mistake and want to cancel order A1003.")) == [
        ToolCall("cancel_order", {"order_number": "A1003", "reason": "customer request"})
    ]


def test_a_shipped_order_is_looked_up_not_cancelled_and_another_customers_order_is_never_found(workspace, shop):
    [step] = plan(workspace, "Please cancel order A1006.").steps
    # Nothing to cancel any more: the reply says where it is and that it can come back once delivered.
    assert step.call == ToolCall("lookup_order", {"order_number": "A1006"})
    assert (step.problem, step.notes["explain"]) == ("", "return_after_delivery")
    theirs = plan(workspace, "Please cancel order B2001.")
    assert (calls(theirs), problems(theirs)) == ([], ["order:not_found:B2001"])


def test_it_refunds_the_named_item_and_asks_which_one_when_several_could_be_meant(workspace, shop):
    make_order(
        workspace,
        "A1020",
        total="70.00",
        items=[
            {"sku": "LAMP-1", "name": "Desk Lamp", "price": "30.00"},
            {"sku": "MUG-1", "name": "Mug", "price": "40.00"},
        ],
    )
    named = plan(workspace, "I want to return the desk lamp from order A1020, the mug is fine.")
    assert calls(named) == [
        ToolCall("issue_refund", {"order_number": "A1020", "amount": "30.00", "reason": "customer request"})
    ]
    unclear = plan(workspace, "I want to return something from order A1020.")
    assert (calls(unclear), problems(unclear)) == ([], ["missing:items"])


def test_an_amount_that_is_no_price_of_items_sent_back_is_a_price_adjustment_for_a_person(workspace, shop):
    make_order(
        workspace,
        "A1021",
        total="77.95",  # 70.00 of goods and 7.95 shipping
        items=[
            {"sku": "LAMP-1", "name": "Desk Lamp", "price": "30.00"},
            {"sku": "MUG-1", "name": "Mug", "price": "20.00", "qty": 2},
        ],
    )
    [difference] = plan(workspace, "The lamp on A1021 is now cheaper on your site. Refund me the $12 difference.").steps
    assert difference.call is None and "price difference" in difference.problem
    one_mug = plan(workspace, "I'm sending back one mug from A1021, please refund $20.")
    assert calls(one_mug) == [
        ToolCall("issue_refund", {"order_number": "A1021", "amount": "20.00", "reason": "customer request"})
    ]
    damaged = plan(workspace, "The lamp on A1021 arrived broken. Please refund $37.95 with the shipping.")
    assert calls(damaged) == [
        ToolCall("issue_refund", {"order_number": "A1021", "amount": "37.95", "reason": "customer request"})
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Please refund order A1004.", "outside the 30-day return window"),
        ("I want my money back for the gift card on order A1005.", "gift cards are never refundable"),
    ],
)
def test_a_refund_the_policy_forbids_is_a_policy_problem_whatever_the_words(workspace, shop, body, reason):
    [step] = plan(workspace, body).steps
    assert step.call is None and step.problem.startswith("policy:") and reason in step.problem


def test_it_plans_an_address_change_only_with_the_address_and_only_before_shipment(workspace, shop):
    assert calls(plan(workspace, "Please ship order A1003 to 9 Elm Road, Shelbyville instead.")) == [
        ToolCall("update_shipping_address", {"order_number": "A1003", "address": "9 Elm Road, Shelbyville"})
    ]
    assert problems(plan(workspace, "Please change the address of order A1003 to my new home.")) == ["missing:address"]
    assert problems(plan(workspace, "Please ship order A1006 to 9 Elm Road, Shelbyville instead."))[0].startswith(
        "policy:"
    )


def test_it_moves_an_order_to_an_address_the_customer_points_at_on_another_order(workspace, shop):
    from helpdesk.models import Order

    Order.objects.filter(number="A1001").update(shipping_address="5 Park Ave, New York, NY, 10001")
    expected = ToolCall(
        "update_shipping_address", {"order_number": "A1003", "address": "5 Park Ave, New York, NY, 10001"}
    )
    assert calls(plan(workspace, "Please change the address of order A1003 to be the same as order A1001.")) == [
        expected
    ]
    # Another customer's order is never a source of an address.
    assert calls(plan(workspace, "Change the address of A1003 to the same as order B2001.")) == []


def test_it_books_only_with_a_day_and_a_time(workspace, shop):
    dated = plan(workspace, "Please book me a fitting on 2099-01-05 14:30.")
    assert calls(dated) == [ToolCall("book_appointment", {"when": "2099-01-05T14:30:00", "topic": "fitting"})]
    assert problems(plan(workspace, "Can I book a fitting some time next week?")) == ["missing:date"]


def test_a_fallback_is_dropped_when_the_ask_before_it_can_be_done(workspace, shop):
    make_order(workspace, "A1020", total="30.00", items=[{"sku": "LAMP-1", "name": "Desk Lamp", "price": "30.00"}])
    body = (
        "The desk lamp from A1020 arrived broken, please replace it. If that is not possible, cancel my pending order."
    )
    assert [c.tool for c in calls(plan(workspace, body))] == ["create_replacement"]


def test_an_ask_for_a_person_plans_the_hand_over_only(workspace, shop):
    assert [c.tool for c in calls(plan(workspace, "I want to return my shoes. Transfer me to a human agent."))] == [
        "escalate_to_human"
    ]


def test_a_pending_order_is_not_exchanged(workspace, shop):
    make_order(
        workspace,
        "A1021",
        status=OrderStatus.PENDING,
        total="90.00",
        items=[{"sku": "BOOT-8", "name": "Hiking Boots", "price": "90.00"}],
    )
    [step] = plan(workspace, "You sent the wrong hiking boots in order A1021, please replace them.").steps
    assert (step.call, step.problem) == (None, "order:not_delivered")
    [size] = plan(workspace, "I want to exchange the hiking boots in order A1021 for a size 9.").steps
    assert (size.call, size.problem) == (None, "no_tool")  # another size: an exchange a person arranges


def test_a_last_resort_is_never_acted_on_when_the_first_choice_was_not_understood(workspace, shop):
    body = (
        "My card has only $50 left. I wonder if you can split the payment with another card. "
        "If not, I wonder if you can just cancel order A1003 so that I can order again."
    )
    [step] = plan(workspace, body).steps
    assert step.call is None and step.problem.startswith("unclear:")


def test_one_item_out_of_several_is_not_cancelled_with_the_whole_order(workspace, shop):
    make_order(
        workspace,
        "A1040",
        status=OrderStatus.PROCESSING,
        total="70.00",
        items=[
            {"sku": "TOP-1", "name": "Merino Top", "price": "30.00"},
            {"sku": "FL-1", "name": "Fleece", "price": "40.00"},
        ],
    )
    [step] = plan(workspace, "Can you cancel the merino top from A1040? I still want the fleece.").steps
    assert (step.call, step.problem) == (None, "no_tool")


def test_another_size_is_an_exchange_for_a_person_and_a_wrong_item_a_replacement(workspace, shop):
    make_order(workspace, "A1041", total="60.00", items=[{"sku": "HLM-S", "name": "Cycling Helmet", "price": "60.00"}])
    [size] = plan(workspace, "The helmet from A1041 is too small, I want to exchange it for a medium.").steps
    assert (size.call, size.problem) == (None, "no_tool")
    [wrong] = plan(workspace, "You sent the wrong helmet in A1041, please replace it.").steps
    assert wrong.call is not None and wrong.call.tool == "create_replacement"


@pytest.mark.parametrize(
    "body",
    [
        "The helmet from A1042 came with a hole near the strap. Can you send another one?",
        "El casco del pedido A1042 tiene una mancha de pintura. ¿Me pueden mandar otro?",
        "Der Helm aus Bestellung A1042 hatte schon beim Auspacken ein Loch. Könnten Sie mir einen neuen schicken?",
        "The seam tape inside the helmet from A1042 is peeling off. I'd like a replacement.",
    ],
)
def test_a_flaw_the_item_came_with_is_the_shops_to_replace_in_any_language(workspace, shop, body):
    make_order(workspace, "A1042", total="60.00", items=[{"sku": "HLM-M", "name": "Cycling Helmet", "price": "60.00"}])
    [step] = plan(workspace, body).steps
    assert step.call == ToolCall(
        "create_replacement", {"order_number": "A1042", "skus": ["HLM-M"], "reason": "customer request"}
    )


def test_an_item_the_order_holds_several_of_is_asked_about_not_guessed(workspace, shop):
    make_order(
        workspace,
        "A1042",
        total="90.00",
        items=[
            {"sku": "EB-1", "name": "Wireless Earbuds", "price": "45.00"},
            {"sku": "EB-2", "name": "Wireless Earbuds", "price": "45.00"},
        ],
    )
    [step] = plan(workspace, "One of the earbuds from A1042 arrived broken, please replace it.").steps
    assert (step.call, step.problem) == (None, "missing:items")

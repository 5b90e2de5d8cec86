"""A shop's own order status words: kept and shown as they are, mapped for the policy checks, and a
word nobody mapped hands the ask to a person with the word in the reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ai.models import ConfidenceRule, ToolPermission
from ai.tests.agent_support import ORDERS, ai_replies, new_ticket, run_agent
from ai.tools.connector import DbShopConnector
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Order, OrderStatus
from helpdesk.order_status import order_status_word_save, unmapped_words
from helpdesk.services import workspace_update
from helpdesk.shop import orders_load

pytest_plugins = ["ai.tests.agent_support"]

SYSTEM = Actor.system("test")


def shop_orders(*words: str) -> dict[str, Any]:
    data = copy.deepcopy(ORDERS)
    template = data["orders"][0]
    data["orders"] = [
        {**template, "number": f"S{n}", "status": word, "shipped_at": None, "carrier": "", "tracking_number": ""}
        for n, word in enumerate(words, start=1)
    ]
    return data


@pytest.fixture
def low_threshold(workspace):
    return ConfidenceRule.objects.create(workspace=workspace, autosend_threshold=0.5)


def test_it_loads_the_shops_own_status_words_and_keeps_them(workspace):
    result = orders_load(
        workspace=workspace, data=shop_orders("on_hold", "Partially Shipped", "delayed", "refunded"), actor=SYSTEM
    )
    assert result.created == 4
    assert list(Order.objects.filter(workspace=workspace).order_by("number").values_list("status", flat=True)) == [
        "on_hold",
        "Partially Shipped",
        "delayed",
        "refunded",
    ]
    assert unmapped_words(workspace=workspace) == {"Partially Shipped": 1, "delayed": 1, "on_hold": 1, "refunded": 1}


def test_it_reads_a_mapped_word_as_its_canonical_status_and_shows_the_shops_word(workspace, ticket):
    orders_load(workspace=workspace, data=shop_orders("On Hold", "canceled"), actor=SYSTEM)
    order_status_word_save(workspace=workspace, word="on-hold", status=OrderStatus.PROCESSING, actor=SYSTEM)
    shop = DbShopConnector(ticket=ticket, actor=SYSTEM)
    held = shop.get_order("S1")
    assert held is not None and (held.status, held.shop_status) == ("processing", "On Hold")
    assert held.citable()["status"] == "On Hold"
    # A canonical word in another spelling is the canonical word, shown as the reply knows it.
    cancelled = shop.get_order("S2")
    assert cancelled is not None and (cancelled.status, cancelled.citable()["status"]) == ("cancelled", "cancelled")
    assert unmapped_words(workspace=workspace) == {}
    event = AuditEvent.objects.get(workspace=workspace, kind="shop.status_word_mapped")
    assert event.data == {"before": None, "after": {"word": "on-hold", "status": "processing"}}


def test_a_word_nobody_mapped_hands_the_ask_to_a_person_with_the_word(workspace, helpcenter, agent_mode, low_threshold):
    ToolPermission.objects.filter(workspace=workspace, tool="cancel_order").update(enabled=True)
    orders_load(workspace=workspace, data=shop_orders("awaiting_stock"), actor=SYSTEM)
    ticket = new_ticket(workspace, "Please cancel my order S1, I do not need it any more.")
    run = run_agent(ticket)
    assert run.decision == "draft" and ai_replies(ticket) == []
    assert "S1 has the status “awaiting stock”, which the shop has not mapped" in run.reason
    assert Order.objects.get(number="S1").status == "awaiting_stock"
    assert not [c for c in run.tool_calls if c["tool"] == "cancel_order"]


def test_a_shop_that_says_unknown_words_mean_not_shipped_gets_them_treated_so(
    workspace, helpcenter, agent_mode, low_threshold
):
    ToolPermission.objects.filter(workspace=workspace, tool="cancel_order").update(enabled=True)
    orders_load(workspace=workspace, data=shop_orders("awaiting_stock"), actor=SYSTEM)
    workspace_update(workspace=workspace, actor=SYSTEM, changes={"unknown_order_status": "not_shipped"})
    ticket = new_ticket(workspace, "Please cancel my order S1, I do not need it any more.")
    run = run_agent(ticket)
    assert [c["status"] for c in run.tool_calls if c["tool"] == "cancel_order"] == ["executed"], run.reason
    # The shop's word is still what the order says; the cancellation writes the canonical one.
    assert Order.objects.get(number="S1").status == "cancelled"
    assert AuditEvent.objects.get(kind="shop.order_cancelled").data["previous_status"] == "awaiting_stock"


def test_a_mapped_word_is_what_the_tracking_answer_states(workspace, helpcenter, agent_mode, low_threshold):
    orders_load(workspace=workspace, data=shop_orders("partially_shipped"), actor=SYSTEM)
    order_status_word_save(workspace=workspace, word="partially_shipped", status=OrderStatus.SHIPPED, actor=SYSTEM)
    ticket = new_ticket(workspace, "Where is my order S1?")
    run = run_agent(ticket)
    assert "partially shipped" in run.draft, run.draft
    assert "S1" in run.draft

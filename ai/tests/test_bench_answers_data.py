"""The labelled tickets of bench/answers: gold consistent with each shop's orders, policy and help
center; trial-readable inputs; dev/check splits of the required sizes covering every type and
language."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from ai.trial.inputs import parse_tickets
from bench.answers import GOLD_TOOLS, LANGUAGES, SHOPS, Shop, data_problems, load_shop
from helpdesk.models import HUMAN_NEEDED_TYPES, TicketType
from helpdesk.shop import orders_validate

INTENTS = {
    "track",
    "refund",
    "replace",
    "cancel",
    "change_address",
    "change_email",
    "reset_password",
    "book",
    "reschedule",
    "question",
    "thanks",
    "human",
    "other",
}
GOLD_KEYS = {
    "external_id",
    "split",
    "language",
    "ticket_type",
    "human_needed",
    "asks",
    "tool",
    "tool_args",
    "approval",
    "missing",
    "facts",
    "articles",
    "resolvable_by_ai",
}


@pytest.fixture(scope="module")
def shops() -> list[Shop]:
    return [load_shop(key) for key in SHOPS]


def test_it_finds_no_contradiction_between_gold_orders_policy_and_help_center(shops):
    for shop in shops:
        assert data_problems(shop) == []


def test_it_reports_gold_that_contradicts_the_orders_or_the_policy(shops):
    shop = copy.deepcopy(shops[0])
    shop.gold["oasis-001"]["tool_args"] = {"order_number": "OO-99999"}  # no such order
    shop.gold["oasis-008"]["tool"] = "issue_refund"  # OO-10456 is still processing
    shop.gold["oasis-030"]["approval"] = False  # 179.00 is over the approval limit
    shop.gold["oasis-031"]["tool_args"]["amount"] = "80.00"  # more than the fleece's 79.00
    shop.gold["oasis-002"]["articles"] = ["no-such-article"]
    shop.gold["oasis-003"]["language"] = "xx"

    problems = "\n".join(data_problems(shop))

    assert "oasis-001: no order OO-99999" in problems
    assert "oasis-008: issue_refund on a processing order" in problems
    assert "oasis-030: approval False does not follow refunds over 100.00" in problems
    assert "oasis-031: refund 80.00 is more than the refundable 79.00" in problems
    assert "oasis-002: no article 'no-such-article'" in problems
    assert "oasis-003: language 'xx'" in problems


def test_it_writes_inputs_the_trial_reads(shops):
    for shop in shops:
        text = (shop.folder / "tickets.jsonl").read_text(encoding="utf-8")
        tickets, errors = parse_tickets(text)
        assert errors == []
        assert [t.external_id for t in tickets] == list(shop.gold)
        for path in shop.order_files:
            assert orders_validate({"orders": shop.orders()}, default_currency=shop.config["currency"])
            assert path.exists()
        assert len(list(shop.helpcenter.glob("*.md"))) >= 10


def test_it_labels_every_ticket_with_the_gold_fields(shops):
    types = set(TicketType.values)
    for shop in shops:
        for tid, gold in shop.gold.items():
            assert set(gold) >= GOLD_KEYS, tid
            assert gold["ticket_type"] in types, tid
            assert gold["human_needed"] == (gold["ticket_type"] in HUMAN_NEEDED_TYPES), tid
            assert {a["intent"] for a in gold["asks"]} <= INTENTS, tid
            assert gold["tool"] is None or gold["tool"] in GOLD_TOOLS, tid
            assert all(isinstance(forms, list) and forms for forms in gold["facts"]), tid


def test_it_splits_dev_and_check_covering_every_type_and_language(shops):
    golds = [g for shop in shops for g in shop.gold.values()]
    splits = Counter(g["split"] for g in golds)
    languages = Counter(g["language"] for g in golds)

    assert len(golds) >= 220
    assert splits["dev"] >= 150
    assert splits["check"] >= 70
    assert set(languages) <= LANGUAGES
    assert {"en", "es", "fr", "de"} <= set(languages)
    assert 0.5 <= languages["en"] / len(golds) <= 0.7
    for split in ("dev", "check"):
        part = [g for g in golds if g["split"] == split]
        assert {g["ticket_type"] for g in part} == set(TicketType.values), split
        assert {g["language"] for g in part} == set(languages), split
    for shop in shops:
        assert {g["split"] for g in shop.gold.values()} == {"dev", "check"}

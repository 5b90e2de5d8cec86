"""The scorer of `make bench-answers` (bench/answers.py) on hand-made report lines."""

from __future__ import annotations

from typing import Any

import pytest

from bench.answers import arg_matches, ece, figures, has_form, normalize, score_ticket, tau2_gold


def _gold(**changes: Any) -> dict[str, Any]:
    gold: dict[str, Any] = {
        "external_id": "t-1",
        "split": "dev",
        "language": "en",
        "ticket_type": "order_status",
        "human_needed": False,
        "asks": [{"intent": "track", "slots": {"order": "OO-1"}}],
        "tool": "lookup_order",
        "tool_args": {"order_number": "OO-1"},
        "approval": False,
        "missing": [],
        "facts": [["1Z999AA10123456784"], ["UPS"]],
        "articles": ["shipping"],
        "resolvable_by_ai": True,
    }
    return gold | changes


def _entry(reply: str = "", *actions: dict[str, Any], **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "external_id": "t-1",
        "ticket_type": "order_status",
        "language": "en",
        "confidence": 0.9,
        "decision": "autosend",
        "reply": reply,
        "citations": [],
        "actions": list(actions),
        "reason": "",
    }
    return entry | changes


def _action(tool: str, status: str = "executed", **args: Any) -> dict[str, Any]:
    return {"tool": tool, "args": args, "status": status}


TRACKED = "Your order OO-1 shipped with ups, tracking number 1Z999AA10123456784."


def test_it_resolves_a_reply_with_the_gold_action_and_every_fact():
    score = score_ticket(_entry(TRACKED, _action("lookup_order", order_number="#oo-1")), _gold())

    assert score["resolves"] is True
    assert score["why_not"] == []


def test_it_does_not_resolve_a_reply_missing_a_fact_or_the_action():
    no_carrier = score_ticket(
        _entry("Tracking number 1Z999AA10123456784.", _action("lookup_order", order_number="OO-1")), _gold()
    )
    no_lookup = score_ticket(_entry(TRACKED), _gold())

    assert no_carrier["resolves"] is False
    assert no_carrier["why_not"] == ["fact missing: UPS"]
    assert no_lookup["resolves"] is False
    assert no_lookup["why_not"] == ["lookup_order not proposed"]


def test_it_matches_facts_without_case_accents_or_spacing_but_as_whole_words():
    text = normalize("Su pedido está  EN PREPARACION y llegará en 130 días, o 75.95 $.")

    assert has_form(text, "en preparación")
    assert not has_form(text, "30 días")
    assert not has_form(text, "75")
    assert has_form(text, "75.95")


def test_it_wants_a_refund_over_the_limit_pending_approval_and_nothing_else():
    gold = _gold(
        ticket_type="refund",
        tool="issue_refund",
        tool_args={"order_number": "OO-1", "amount": "149.00"},
        approval=True,
        facts=[],
    )

    def scored(status: str, amount: str = "149", decision: str = "awaiting_approval") -> dict[str, Any]:
        refund = _action("issue_refund", status, order_number="OO-1", amount=amount)
        return score_ticket(_entry("", refund, decision=decision), gold)

    assert scored("pending_approval")["resolves"] is True
    assert scored("pending_approval")["over_limit_queued"] is True
    assert scored("simulated")["resolves"] is False
    assert scored("simulated")["why_not"] == ["issue_refund needs approval but is simulated"]
    assert scored("executed", decision="autosend")["over_limit_queued"] is False
    assert scored("pending_approval", amount="129.00")["resolves"] is False
    assert scored("pending_approval", decision="draft")["over_limit_queued"] is False


def test_it_accepts_a_refund_under_the_limit_simulated_but_not_refused():
    gold = _gold(tool="issue_refund", tool_args={"order_number": "OO-1", "amount": "79.00"}, facts=[])

    simulated = score_ticket(_entry("", _action("issue_refund", "simulated", order_number="OO-1", amount=79)), gold)
    refused = _action("issue_refund", "refused", order_number="OO-1", amount="79.00")
    refused["reason"] = "the tool issue_refund is not enabled in this workspace"

    assert simulated["resolves"] is True
    assert score_ticket(_entry("", refused), gold)["why_not"] == [
        "issue_refund refused: the tool issue_refund is not enabled in this workspace"
    ]


def test_it_fails_a_reply_that_takes_a_write_action_nobody_asked_for():
    gold = _gold(ticket_type="other", tool=None, tool_args={}, facts=[], asks=[{"intent": "thanks", "slots": {}}])

    replaced = score_ticket(
        _entry("Glad to hear!", _action("create_replacement", "simulated", order_number="OO-1")), gold
    )
    refused = score_ticket(_entry("Glad to hear!", _action("create_replacement", "refused", order_number="OO-1")), gold)

    assert replaced["resolves"] is False
    assert replaced["why_not"] == ["unrequested create_replacement (simulated)"]
    assert refused["resolves"] is True


def test_it_counts_asking_for_a_missing_detail_but_never_as_a_resolution():
    gold = _gold(ticket_type="refund", tool=None, tool_args={}, facts=[], missing=["order_number"])

    asked = score_ticket(_entry("Hi Marcus,\nCould you send us the order number of the item?"), gold)
    quoted = score_ticket(_entry("Refunds go back to the original payment method. Order number OO-2 shipped."), gold)

    assert (asked["resolves"], asked["asked_for_missing"]) == (False, True)
    assert asked["why_not"] == ["detail missing: order_number (asked)"]
    assert (quoted["resolves"], quoted["asked_for_missing"]) == (False, False)


def test_it_never_resolves_a_human_needed_or_person_only_ticket():
    human = score_ticket(
        _entry(TRACKED, _action("lookup_order", order_number="OO-1")),
        _gold(ticket_type="legal", human_needed=True, resolvable_by_ai=False),
    )
    trace = score_ticket(_entry(TRACKED, _action("lookup_order", order_number="OO-1")), _gold(resolvable_by_ai=False))

    assert human["why_not"] == ["human-needed (legal)"]
    assert trace["why_not"] == ["a person must act"]
    assert human["ai_suitable"] is False


def test_it_matches_arguments_the_way_a_person_would():
    assert arg_matches("order_number", "PW-310133", "pw310133")
    assert not arg_matches("order_number", "PW-310133", "PW-310134")
    assert arg_matches("amount", "149.00", 149)
    assert not arg_matches("amount", "149.00", "149.01")
    assert arg_matches("when", "2025-06-21T11:00", "2025-06-21T11:00:00")
    assert not arg_matches("when", "2025-06-21T11:00", "2025-06-21T10:00:00")
    assert arg_matches(
        "address", "1400 Congress Ave, Apt 5B, Austin, TX 78701", "1400 congress ave apt 5b austin tx 78701"
    )
    assert not arg_matches("address", "1400 Congress Ave, Apt 5B, Austin, TX 78701", "1400 Congress Ave, Austin")
    assert arg_matches(
        "address",
        "445 Maple Drive, Suite 394, Fort Worth, TX, 76165",
        "445 Maple Drive, Suite 394, Fort Worth, Texas, 76165",
    )
    assert not arg_matches(
        "address",
        "445 Maple Drive, Suite 394, Fort Worth, TX, 76165",
        "445 Maple Drive, Suite 39, Fort Worth, TX, 76165",
    )
    assert arg_matches("skus", ["A", "B"], ["B", "A"])
    assert not arg_matches("skus", ["A"], None)


def test_it_computes_ece_over_ten_bins():
    pairs = [(0.95, True), (0.95, False), (0.15, False), (0.15, False)]

    assert ece(pairs) == pytest.approx(0.5 * 0.45 + 0.5 * 0.15)
    assert ece([(1.0, True), (0.0, False)]) == 0.0
    assert ece([]) is None


def test_it_computes_the_set_figures_from_scored_tickets():
    tracked = _entry(TRACKED, _action("lookup_order", order_number="OO-1"))
    scores = [
        score_ticket(tracked, _gold()),  # autosent, resolves
        score_ticket(_entry("Hello", _action("lookup_order", order_number="OO-1")), _gold()),  # autosent, no facts
        score_ticket(tracked | {"decision": "draft", "confidence": 0.5}, _gold()),  # resolves, not autosent
        score_ticket(tracked, _gold(ticket_type="complaint", human_needed=True, resolvable_by_ai=False)),
    ]

    result = figures(scores)

    assert result["tickets"] == 4
    assert result["autosent"] == 3
    assert result["ai_suitable"] == 3
    assert result["resolving"] == 2
    assert result["autosend_precision"] == round(1 / 3, 4)
    assert result["resolved_by_autosend"] == round(1 / 3, 4)
    assert result["human_needed_autosent"] == 1
    assert result["expected_tool_rate"] == 1.0
    assert result["over_limit_refunds_queued"] is None


def test_it_measures_citation_precision_by_article_over_all_citations():
    index = {"shipping": "shipping times", "shipping times": "shipping times", "returns": "returns policy"}
    cited = [{"title": "Shipping times", "url": "/help/x/#a"}, {"title": "Shipping times", "url": "/help/x/#b"}]
    good = score_ticket(_entry(TRACKED, _action("lookup_order", order_number="OO-1"), citations=cited), _gold(), index)
    off = score_ticket(
        _entry("Hello", citations=[{"title": "Returns policy", "url": ""}, {"title": "Gift cards", "url": ""}]),
        _gold(ticket_type="other", tool=None, tool_args={}, facts=[], articles=[]),
        index,
    )

    assert (good["cited"], good["cited_gold"]) == (1, 1)
    assert (off["cited"], off["cited_gold"]) == (2, 0)
    assert figures([good, off])["citation_precision"] == round(1 / 3, 4)


def test_it_derives_tau2_gold_from_the_tasks_gold_actions():
    db = {
        "orders": {
            "#W1": {"items": [{"item_id": "11", "price": 60.5}, {"item_id": "12", "price": 45.0}]},
        }
    }

    def task(*actions: dict[str, Any], info: list[str] | None = None) -> dict[str, Any]:
        return {"id": "7", "evaluation_criteria": {"actions": list(actions), "communicate_info": info or []}}

    ret = {"name": "return_delivered_order_items", "arguments": {"order_id": "#W1", "item_ids": ["11", "12"]}}
    refund = tau2_gold(task({"name": "get_order_details", "arguments": {"order_id": "#W1"}}, ret), db)
    transfer = tau2_gold(task({"name": "transfer_to_human_agents", "arguments": {}}), db)
    modify = tau2_gold(task({"name": "modify_pending_order_items", "arguments": {"order_id": "#W1"}}), db)
    lookup = tau2_gold(task({"name": "get_order_details", "arguments": {"order_id": "#W1"}}, info=["481.5"]), db)

    assert (refund["tool"], refund["tool_args"], refund["approval"]) == (
        "issue_refund",
        {"order_number": "W1", "amount": "105.50"},
        True,
    )
    assert refund["ticket_type"] == "refund"
    assert (transfer["human_needed"], transfer["resolvable_by_ai"]) == (True, False)
    assert (modify["tool"], modify["resolvable_by_ai"]) == (None, False)
    assert (lookup["tool"], lookup["tool_args"]) == ("lookup_order", {"order_number": "W1"})
    assert lookup["facts"] == [["481.5", "481.50", "481,50"]]

"""Which help-center sentences a reply quotes for a customer's question."""

from __future__ import annotations

from ai.agent.answer import QUESTION_BAR, pick_quotes

GIFT_CARDS = (
    "Gift cards never expire and have no fees. Gift cards can also be used in our stores. "
    "They cannot be exchanged for cash or used to buy other gift cards."
)


def test_it_quotes_the_sentence_that_answers_and_not_a_loosely_related_one_beside_it():
    quotes = pick_quotes("Do your gift cards expire?", [(1, GIFT_CARDS)], bar=QUESTION_BAR)
    assert [q.sentence for q in quotes] == ["Gift cards never expire and have no fees."]


def test_it_quotes_two_sentences_when_both_answer_about_as_well():
    article = (
        "Standard shipping costs $6.95 and takes 3-6 business days. "
        "Express shipping costs $14.95 and takes 1-2 business days. Gift cards never expire."
    )
    quotes = pick_quotes("How much does shipping cost?", [(1, article)], bar=QUESTION_BAR)
    assert len(quotes) == 2

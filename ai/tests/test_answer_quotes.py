"""Which help-center sentences a reply quotes for a customer's question."""

from __future__ import annotations

from ai.agent.answer import pick_quotes
from ai.agent.outcomes import QUESTION_BAR

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


def test_a_sentence_is_read_with_its_section_heading_which_says_what_it_is_about():
    article = (
        "## When your bank shows the refund\n\nIt usually takes 5 to 10 business days after we send it.\n\n"
        "## Exchanges\n\nWe send the new size as soon as the carrier scans your return parcel.\n"
    )
    quotes = pick_quotes("How long until I see the refund on my bank statement?", [(1, article)], bar=QUESTION_BAR)
    # Quoted as written, without its heading.
    assert [q.sentence for q in quotes] == ["It usually takes 5 to 10 business days after we send it."]

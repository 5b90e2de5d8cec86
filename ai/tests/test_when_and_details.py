"""Dates and times as customers write them, and the details a reply may state only from a source."""

from __future__ import annotations

import datetime as dt

import pytest

from ai.agent.grounding import paragraphs, split_sentences, unsupported_details
from ai.agent.when import parse_when

NOW = dt.datetime(2026, 4, 15, 12, 0)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "language", "date", "time"),
    [
        ("book me a session on Thursday at 11", "en", "2026-04-16", "11:00"),
        ("tomorrow at 2pm", "en", "2026-04-16", "14:00"),
        ("le 22 avril à 14h30", "fr", "2026-04-22", "14:30"),
        ("nächsten Freitag um 10 Uhr", "de", "2026-04-17", "10:00"),
        ("am Donnerstag, den 23.04. um 10 Uhr", "de", "2026-04-23", "10:00"),
        ("el martes a las 11", "es", "2026-04-21", "11:00"),
        ("2026-05-02 09:15", "en", "2026-05-02", "09:15"),
        ("on 4/23 at 3 pm", "en", "2026-04-23", "15:00"),
        ("Thursday afternoon", "en", "2026-04-16", None),
        ("I have 2 boots", "en", None, None),
        ("refund 12.50 please", "en", None, None),
    ],
)
def test_it_reads_the_day_and_time_a_customer_names(text, language, date, time):
    when = parse_when(text, now=NOW, language=language)
    assert (when.date.isoformat() if when.date else None, when.time.strftime("%H:%M") if when.time else None) == (
        date,
        time,
    )


def test_a_detail_no_source_states_is_reported():
    sources = ['{"order": "A1001", "tracking_number": "1Z999", "shipped_at": "2026-11-12T15:00:00+00:00"}']
    assert unsupported_details("Your order A1001 shipped on November 12; tracking 1Z999.", sources) == []
    assert unsupported_details("The link is valid for 48 hours, see https://x.test/reset", sources) == [
        "48",
        "https://x.test/reset",
    ]


def test_help_center_sentences_keep_abbreviations_wrapped_lines_and_tables_whole():
    text = (
        "We do not ship to P.O. boxes with UPS or FedEx; choose\nStandard and we send it with USPS.\n\n"
        "| Method | Time | Cost |\n|---|---|---|\n| Standard | 3-6 days | $6.95 |\n"
    )
    assert paragraphs(text)[-1] == "Standard: time 3-6 days; cost $6.95."
    sentences = split_sentences(text, min_words=2, segmenter=True)
    assert "We do not ship to P.O. boxes with UPS or FedEx; choose Standard and we send it with USPS." in sentences


def test_a_quote_from_its_article_is_grounded_when_the_cited_passage_is_another_part_of_it():
    from ai.agent.pipeline import _score
    from ai.agent.triage import Triage
    from ai.providers.chat_base import ChatDraft

    table = "| Method | Time | Cost |\n|---|---|---|\n| Standard | 3-6 days | $6.95, free over $75 |\n"
    article = "# Shipping\n\n## Delivery times\n\n" + table + "\n## Tracking\n\nWe email you the tracking number."
    passages = [{"n": 1, "article": 7, "text": "Tracking. We email you the tracking number."}]  # the best passage
    reply = "Hi Ann,\n\nStandard: time 3-6 days; cost $6.95, free over $75. [1]\n\nBest regards,\nOasis support"
    tri = Triage("order_status", 0.9, "en", "neutral", 0.0, [], "where is my order")

    def unsupported(articles: list[str]) -> list[str]:
        draft = ChatDraft(reply=reply, citations=[1], self_check=1.0)
        _score(tri, passages, [], draft, [], None, customer_email="", local=True, policy={}, articles=articles)
        return draft.unsupported

    assert "75" in unsupported([])  # the passage alone does not state the row
    assert unsupported([article]) == []

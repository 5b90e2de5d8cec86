from __future__ import annotations

import re

from ai.chunking import MAX_PASSAGE_CHARS, split_text
from helpdesk.helpcenter_render import render_article
from helpdesk.models import Article

MARKDOWN = """Intro paragraph about returns.

## Return window

You have 30 days after delivery.

### Final sale

Final-sale items cannot be returned.

## Refunds

Refunds go back to the original card.

## Refunds

A second section with the same heading.
"""


def test_it_splits_markdown_along_headings_with_heading_paths():
    chunks = split_text(title="Returns", body=MARKDOWN, is_html=False)
    assert [(c.heading_path, c.anchor) for c in chunks] == [
        ("Returns", ""),
        ("Returns > Return window", "return-window"),
        ("Returns > Return window > Final sale", "final-sale"),
        ("Returns > Refunds", "refunds"),
        ("Returns > Refunds", "refunds-2"),
    ]
    assert chunks[2].text == "Final-sale items cannot be returned."
    assert [c.position for c in chunks] == [0, 1, 2, 3, 4]


def test_it_splits_html_along_h1_to_h3_and_drops_scripts():
    body = (
        "<h2>Shipping</h2><p>We ship <b>worldwide</b>.</p><script>alert(1)</script><h3>Costs</h3><p>Free over $50.</p>"
    )
    chunks = split_text(title="Delivery", body=body, is_html=True)
    assert [(c.heading_path, c.text) for c in chunks] == [
        ("Delivery > Shipping", "We ship worldwide."),
        ("Delivery > Shipping > Costs", "Free over $50."),
    ]


def test_it_caps_passage_size_and_keeps_all_words():
    long_section = "## Policy\n\n" + "\n\n".join(f"Sentence number {i} explains a rule." for i in range(300))
    chunks = split_text(title="Long", body=long_section, is_html=False)
    assert len(chunks) > 5
    assert all(len(c.text) <= MAX_PASSAGE_CHARS for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert "Sentence number 0 " in joined and "Sentence number 299 " in joined
    assert {c.anchor for c in chunks} == {"policy"}


def test_it_cuts_a_single_huge_paragraph_without_spaces():
    chunks = split_text(title="Blob", body="x" * 5000, is_html=False)
    assert all(len(c.text) <= MAX_PASSAGE_CHARS for c in chunks)


def test_it_gives_rendered_headings_the_anchors_the_index_cites():
    article = Article(title="Returns", body=MARKDOWN, source="markdown")
    html = render_article(article)
    ids = re.findall(r'<h[1-3] id="([^"]+)"', html)
    anchors = [c.anchor for c in split_text(title="Returns", body=MARKDOWN, is_html=False) if c.anchor]
    assert ids == anchors


def test_it_changes_the_hash_only_for_changed_sections():
    before = split_text(title="Returns", body=MARKDOWN, is_html=False)
    after = split_text(title="Returns", body=MARKDOWN.replace("30 days", "45 days"), is_html=False)
    changed = [a.position for a, b in zip(before, after, strict=True) if a.content_hash != b.content_hash]
    assert changed == [1]

from __future__ import annotations

from typing import Any

import pytest

from ai.index import index_articles
from ai.models import EmbeddingSpace, Passage, SpaceStatus
from ai.search import search, search_fts, search_vector
from audit.services import Actor
from helpdesk.helpcenter_import import article_save, import_helpcenter
from helpdesk.models import Article, ArticleStatus

RETURNS = """---
title: Returns and refunds
url: https://acme.test/help/returns
---
We want you to love what you bought.

## Return window

You can return items within 30 days after delivery for a full refund.

## Final sale

Gift cards and final-sale items are never refundable.
"""

SHIPPING = """---
title: Shipping and delivery
url: https://acme.test/help/shipping
---
## Delivery times

Standard delivery takes 3 to 5 business days. Express arrives the next day.

## Tracking

Every parcel gets a tracking number by email once it ships.
"""


def _import(workspace: Any, folder: Any, files: dict[str, str], captured: Any) -> Any:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    with captured(execute=True):
        return import_helpcenter(workspace=workspace, path=folder, actor=Actor.system("test"))


@pytest.fixture
def helpcenter(workspace, tmp_path, django_capture_on_commit_callbacks):
    _import(
        workspace, tmp_path / "hc", {"returns.md": RETURNS, "shipping.md": SHIPPING}, django_capture_on_commit_callbacks
    )
    return tmp_path / "hc"


def test_it_indexes_imported_articles_in_the_background(helpcenter, workspace):
    space = EmbeddingSpace.objects.get(workspace=workspace)
    assert space.status == SpaceStatus.ACTIVE
    assert (space.provider, space.dimensions) == ("local", 384)
    rows = Passage.objects.filter(workspace=workspace).order_by("heading_path")
    assert [r.heading_path for r in rows] == [
        "Returns and refunds",
        "Returns and refunds > Final sale",
        "Returns and refunds > Return window",
        "Shipping and delivery > Delivery times",
        "Shipping and delivery > Tracking",
    ]
    assert all(r.dims == 384 and len(r.embedding) == 384 for r in rows)


def test_it_finds_cited_passages_by_hybrid_search(helpcenter, workspace):
    hits = search(workspace=workspace, query="how many days do I have to send an item back?", k=3)
    assert hits[0].heading_path == "Returns and refunds > Return window"
    top = hits[0]
    # An imported article is cited with its own source URL, not our copy of it.
    assert top.url == top.source_url == "https://acme.test/help/returns"
    assert top.citation() == {"title": "Returns and refunds", "url": "https://acme.test/help/returns"}
    assert top.score > 0 and "30 days" in top.text
    assert top.fts_rank is not None or top.vector_rank is not None


def test_it_cites_an_article_written_here_with_its_public_help_center_page(
    workspace, django_capture_on_commit_callbacks
):
    article = Article(workspace=workspace, title="Gift wrapping", body="## Wrapping\n\nWe wrap any gift for free.")
    with django_capture_on_commit_callbacks(execute=True):
        article_save(article=article, actor=Actor.system("test"))
    top = search(workspace=workspace, query="do you wrap gifts?", k=1)[0]
    assert top.source_url == ""
    assert top.url == "http://127.0.0.1:8000/help/acme/gift-wrapping/#wrapping"


def test_it_ranks_by_each_method_alone(helpcenter, workspace):
    assert search_fts(workspace=workspace, query="tracking number", k=1)[0].anchor == "tracking"
    assert search_vector(workspace=workspace, query="when will my package arrive", k=1)[0].anchor == "delivery-times"


def test_it_reembeds_only_changed_passages(helpcenter, workspace, embed_counter, django_capture_on_commit_callbacks):
    before = dict(Passage.objects.filter(workspace=workspace).values_list("content_hash", "pk"))
    changed = RETURNS.replace("30 days", "45 days")
    report = _import(workspace, helpcenter, {"returns.md": changed}, django_capture_on_commit_callbacks)
    assert (len(report.updated), len(report.unchanged)) == (1, 1)
    assert embed_counter.calls == 1
    assert len(embed_counter.texts) == 1 and "45 days" in embed_counter.texts[0]
    after = dict(Passage.objects.filter(workspace=workspace).values_list("content_hash", "pk"))
    assert len(after) == len(before)
    assert len(set(after.values()) & set(before.values())) == len(before) - 1  # the other rows were kept


def test_it_embeds_nothing_when_nothing_changed(
    helpcenter, workspace, embed_counter, django_capture_on_commit_callbacks
):
    report = _import(workspace, helpcenter, {}, django_capture_on_commit_callbacks)
    assert len(report.unchanged) == 2
    result = index_articles(article_ids=Article.objects.values_list("pk", flat=True))
    assert (result.embedded, result.kept, result.deleted) == (0, 5, 0)
    assert embed_counter.calls == 0


def test_it_drops_a_removed_section(helpcenter, workspace, django_capture_on_commit_callbacks):
    shorter = RETURNS.split("## Final sale")[0]
    _import(workspace, helpcenter, {"returns.md": shorter}, django_capture_on_commit_callbacks)
    assert not Passage.objects.filter(anchor="final-sale").exists()


def test_it_excludes_draft_articles_from_search(helpcenter, workspace, django_capture_on_commit_callbacks):
    article = Article.objects.get(slug="returns-and-refunds")
    assert search_fts(workspace=workspace, query="gift cards refundable", k=5)
    # A status change that bypassed the index still never leaks a draft.
    Article.objects.filter(pk=article.pk).update(status=ArticleStatus.DRAFT)
    assert search(workspace=workspace, query="gift cards refundable final sale", k=5)[0].article_id != article.pk
    assert all(h.article_id != article.pk for h in search(workspace=workspace, query="gift cards refundable", k=5))
    # Through the service the draft's passages leave the index entirely.
    article.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        article_save(article=article, actor=Actor.system("test"))
    assert not Passage.objects.filter(article=article).exists()


def test_it_searches_only_the_workspace_s_own_articles(
    helpcenter, workspace, other_workspace, tmp_path, django_capture_on_commit_callbacks
):
    secret = "---\ntitle: Globex refunds\n---\n## Refund window\n\nGlobex refunds within 90 days after delivery.\n"
    _import(other_workspace, tmp_path / "globex", {"refunds.md": secret}, django_capture_on_commit_callbacks)
    acme_hits = search(workspace=workspace, query="Globex refund window 90 days", k=10)
    assert acme_hits and all(h.article_title != "Globex refunds" for h in acme_hits)
    globex_hits = search(workspace=other_workspace, query="refund window", k=10)
    assert {h.article_title for h in globex_hits} == {"Globex refunds"}


def test_it_returns_nothing_before_anything_is_indexed(workspace):
    assert search(workspace=workspace, query="refund", k=5) == []


# The monotonic clock counts from the machine's boot: minutes after a fresh boot, and long after.
@pytest.mark.parametrize("clock", [5.0, 1e6])
def test_it_drops_query_terms_that_most_passages_contain(helpcenter, workspace, monkeypatch, clock):
    from types import SimpleNamespace

    from django.db import connection

    import ai.search
    from ai.search import _term_frequencies, query_terms, reset_term_statistics

    monkeypatch.setattr(ai.search, "time", SimpleNamespace(monotonic=lambda: clock))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ai_passage")
        # Five rows: ANALYZE reads all of them (no sampling), so its shares are the exact ones.
        cursor.execute(
            "SELECT count(*) FILTER (WHERE search_vector @@ 'deliveri'::tsquery)::float / count(*) FROM ai_passage"
        )
        (share,) = cursor.fetchone()
    reset_term_statistics()
    monkeypatch.setattr(ai.search, "COMMON_TERM_FRACTION", 0.3)
    try:
        assert share > 0.3 and _term_frequencies()["deliveri"] == pytest.approx(share)
        # "deliveri" is in more than 30% of the passages: too common to discriminate; the unseen word stays.
        assert query_terms("delivery zebracorn") == ["zebracorn"]
        # Only common words: the rarest ones are kept rather than nothing.
        assert query_terms("delivery") == ["deliveri"]
    finally:
        reset_term_statistics()

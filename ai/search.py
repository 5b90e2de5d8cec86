"""Hybrid retrieval over a workspace's help center.

Vector candidates (pgvector cosine, HNSW) and full-text candidates (tsvector, GIN) are
fused by reciprocal rank fusion. Only published articles of the workspace's own active
embedding space are ever read.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from ai.index import active_space, provider_for_space
from ai.models import INDEXED_DIMENSIONS, EmbeddingSpace
from ai.providers import EmbeddingError
from helpdesk.models import ArticleStatus, Workspace

logger = logging.getLogger(__name__)

RRF_K = 60
# Candidates per method: enough for the fusion to matter, few enough to stay fast.
CANDIDATES = 40
# HNSW search breadth; the scale benchmark (bench/retrieval.py) measured recall against exact.
EF_SEARCH = 100
FTS_CONFIG = "english"
# The query is embedded on a worker thread while Postgres runs the full-text half: onnxruntime
# (and an HTTP provider's socket wait) and psycopg all release the GIL, so on two cores the
# halves overlap. The embedding touches no database connection, so no transaction is crossed.
_EMBEDDER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="oasis-embed-query")


@dataclass(frozen=True)
class SearchHit:
    passage_id: int
    article_id: int
    article_title: str
    article_slug: str
    heading_path: str
    anchor: str
    text: str
    url: str
    source_url: str
    score: float
    fts_rank: int | None = None
    vector_rank: int | None = None

    def citation(self) -> dict[str, str]:
        return {"title": self.article_title, "url": self.url}


def search(*, workspace: Workspace, query: str, k: int = 5) -> list[SearchHit]:
    """The k best passages for `query` by reciprocal rank fusion of vector and full-text ranks."""
    space = active_space(workspace.pk)
    if space is None or not query.strip():
        return []
    n = max(CANDIDATES, 4 * k)
    embedding = _EMBEDDER.submit(embed_query, space, query)
    fts = search_fts_ids(space=space, query=query, limit=n)
    try:
        vec = search_vector_ids(space=space, vector=embedding.result(), limit=n)
    except EmbeddingError as exc:
        # The endpoint is down: full-text alone still answers rather than nothing.
        logger.warning("vector search unavailable for workspace %s: %s", workspace.pk, exc)
        vec = []
    scores: dict[int, float] = {}
    fts_rank = {pid: rank for rank, pid in enumerate(fts, start=1)}
    vec_rank = {pid: rank for rank, pid in enumerate(vec, start=1)}
    for ranks in (fts_rank, vec_rank):
        for pid, rank in ranks.items():
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(scores, key=lambda pid: (-scores[pid], pid))[:k]
    return _hits(workspace, best, scores, fts_rank, vec_rank)


def search_fts(
    *, workspace: Workspace, query: str, k: int = 5, mode: str = "or", config: str = FTS_CONFIG
) -> list[SearchHit]:
    space = active_space(workspace.pk)
    if space is None:
        return []
    ids = search_fts_ids(space=space, query=query, limit=k, mode=mode, config=config)
    return _hits(
        workspace, ids, {pid: 1.0 / r for r, pid in enumerate(ids, 1)}, {p: r for r, p in enumerate(ids, 1)}, {}
    )


def search_vector(*, workspace: Workspace, query: str, k: int = 5) -> list[SearchHit]:
    space = active_space(workspace.pk)
    if space is None:
        return []
    ids = search_vector_ids(space=space, query=query, limit=k)
    return _hits(
        workspace, ids, {pid: 1.0 / r for r, pid in enumerate(ids, 1)}, {}, {p: r for r, p in enumerate(ids, 1)}
    )


# Full text: a query term found in more than this share of passages says little (think IDF)
# and makes an OR query rank nearly every row; such terms are dropped (pg_stats knows them).
COMMON_TERM_FRACTION = 0.5
# At most this many matching rows are ranked, so a query of common words stays fast at scale.
RANK_CAP = 5000
_STATS_TTL = 300.0
# (when read, by time.monotonic(); the frequencies), or None before the first read: the clock's
# zero is the machine's boot, so no timestamp can stand for "never read".
_stats: tuple[float, dict[str, float]] | None = None


def _tsquery_sql(mode: str, config: str) -> str:
    if config not in ("english", "simple"):
        raise ValueError(f"unsupported text search config {config!r}")
    if mode == "and":
        return f"websearch_to_tsquery('{config}', %s)"
    if mode == "or_all":
        return f"CAST(replace(plainto_tsquery('{config}', %s)::text, ' & ', ' | ') AS tsquery)"
    raise ValueError(f"unknown full-text mode {mode!r}")


def _term_frequencies() -> dict[str, float]:
    """Share of passages holding each common lexeme, from the planner's statistics (cached)."""
    global _stats
    if _stats is not None and time.monotonic() - _stats[0] < _STATS_TTL:
        return _stats[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE tablename = 'ai_passage' AND attname = 'search_vector'"
        )
        row = cursor.fetchone()
    freqs = dict(zip(row[0], row[1], strict=False)) if row and row[0] else {}
    _stats = (time.monotonic(), freqs)
    return freqs


def reset_term_statistics() -> None:
    global _stats
    _stats = None


def query_terms(query: str) -> list[str]:
    """The query's lexemes, very common ones dropped (the rarest few kept if all are common)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tsvector_to_array(to_tsvector('{FTS_CONFIG}', %s))", [query[:10000]])
        row = cursor.fetchone()
    lexemes = [lex for lex in (row[0] if row else []) if "'" not in lex and "\\" not in lex]
    freqs = _term_frequencies()
    kept = [lex for lex in lexemes if freqs.get(lex, 0.0) < COMMON_TERM_FRACTION]
    return kept or sorted(lexemes, key=lambda lex: freqs.get(lex, 0.0))[:3]


def search_fts_ids(
    *, space: EmbeddingSpace, query: str, limit: int, mode: str = "or", config: str = FTS_CONFIG
) -> list[int]:
    """Passage ids by ts_rank. Default mode "or": any informative query term may match, since
    long natural-language questions rarely have every word in one passage."""
    if mode == "or" and config == FTS_CONFIG:
        terms = query_terms(query)
        if not terms:
            return []
        tsquery = " | ".join(f"'{term}'" for term in terms)
        # Rank first, then check the article is published for the few best only: passages of
        # unpublished articles are removed by the re-index, so the check is a safety net for the
        # moment between an unpublish and its re-index, and need not cost a join per matched row.
        sql = """
            WITH ranked AS MATERIALIZED (
                SELECT m.id, m.article_id, ts_rank(m.search_vector, q) AS rank
                FROM (
                    SELECT p.id, p.article_id, p.search_vector FROM ai_passage p
                    WHERE p.space_id = %s AND p.search_vector @@ to_tsquery('simple', %s)
                    LIMIT %s
                ) m, to_tsquery('simple', %s) q
                ORDER BY rank DESC, m.id
                LIMIT %s
            )
            SELECT r.id FROM ranked r JOIN helpdesk_article a ON a.id = r.article_id
            WHERE a.status = %s
            ORDER BY r.rank DESC, r.id
            LIMIT %s
        """
        params: list[Any] = [space.pk, tsquery, RANK_CAP, tsquery, 4 * limit, ArticleStatus.PUBLISHED, limit]
    else:
        # The stored column uses FTS_CONFIG; another config (benchmark) computes vectors on the fly.
        document = (
            "p.search_vector"
            if config == FTS_CONFIG
            else (
                f"(setweight(to_tsvector('{config}', p.heading_path), 'A')"
                f" || setweight(to_tsvector('{config}', p.text), 'B'))"
            )
        )
        sql = f"""
            SELECT p.id FROM ai_passage p
            JOIN helpdesk_article a ON a.id = p.article_id,
            {_tsquery_sql("or_all" if mode == "or" else mode, config)} AS q
            WHERE p.space_id = %s AND a.status = %s AND {document} @@ q
            ORDER BY ts_rank({document}, q) DESC, p.id
            LIMIT %s
        """  # noqa: S608 (config and mode come from the whitelists above)
        params = [query, space.pk, ArticleStatus.PUBLISHED, limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def embed_query(space: EmbeddingSpace, query: str) -> list[float]:
    return provider_for_space(space).embed([query])[0]


def search_vector_ids(
    *, space: EmbeddingSpace, query: str | None = None, vector: Any = None, limit: int, ef_search: int = EF_SEARCH
) -> list[int]:
    if vector is None:
        vector = embed_query(space, query or "")
    literal = "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"
    if space.dimensions == INDEXED_DIMENSIONS:
        # Must match the index expression of migration 0002 for the planner to use HNSW.
        distance = f"p.embedding::vector({INDEXED_DIMENSIONS}) <=> %s::vector({INDEXED_DIMENSIONS})"
    else:
        distance = "p.embedding <=> %s::vector"
    sql = f"""
        WITH candidates AS MATERIALIZED (
            SELECT p.id, {distance} AS distance FROM ai_passage p
            JOIN helpdesk_article a ON a.id = p.article_id
            WHERE p.space_id = %s AND p.dims = %s AND a.status = %s
            ORDER BY {distance}
            LIMIT %s
        )
        SELECT id FROM candidates ORDER BY distance, id
    """  # noqa: S608 (no user input in the formatted parts)
    # Iterative scans keep HNSW returning rows when the filters drop some (pgvector 0.8).
    settings_sql = (
        "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)"
    )
    params: list[Any] = [literal, space.pk, space.dimensions, ArticleStatus.PUBLISHED, literal, limit]
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:
            if isinstance(getattr(cursor, "cursor", None), psycopg.ClientCursor):
                # One round trip instead of four (BEGIN, settings, search, COMMIT): statements sent
                # together run as one implicit transaction, so the local settings end with it.
                cursor.execute(f"{settings_sql}; {sql}", [str(ef_search), *params])
                cursor.nextset()
                return [row[0] for row in cursor.fetchall()]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(settings_sql, [str(ef_search)])
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _hits(
    workspace: Workspace,
    ids: list[int],
    scores: dict[int, float],
    fts_rank: dict[int, int],
    vec_rank: dict[int, int],
) -> list[SearchHit]:
    from ai.models import Passage

    rows = {
        p.pk: p
        for p in Passage.objects.filter(pk__in=ids, workspace=workspace)
        .select_related("article")
        .only("id", "heading_path", "anchor", "text", "article__id", "article__title", "article__slug", "article__url")
    }
    hits: list[SearchHit] = []
    for pid in ids:
        passage = rows.get(pid)
        if passage is None:
            continue
        article = passage.article
        # Cite the article where the shop's customers know it: its own source URL (front matter
        # `url`, Zendesk `html_url`, the crawled page) when the import gave one, else our public
        # help-center page, whose headings carry exactly these anchors. Every citation (Agent,
        # Copilot, trial report, audit) is built from this one field.
        page = settings.SITE_URL + reverse("helpcenter:article", args=[workspace.slug, article.slug])
        url = article.url or (f"{page}#{passage.anchor}" if passage.anchor else page)
        hits.append(
            SearchHit(
                passage_id=pid,
                article_id=article.pk,
                article_title=article.title,
                article_slug=article.slug,
                heading_path=passage.heading_path,
                anchor=passage.anchor,
                text=passage.text,
                url=url,
                source_url=article.url,
                score=scores.get(pid, 0.0),
                fts_rank=fts_rank.get(pid),
                vector_rank=vec_rank.get(pid),
            )
        )
    return hits

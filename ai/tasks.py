"""Background work of the knowledge index (django-q2): tasks take ids and call ai.index."""

from __future__ import annotations

import logging

from ai import index

logger = logging.getLogger(__name__)


def index_articles(article_ids: list[int]) -> dict[str, object]:
    result = index.index_articles(article_ids=article_ids)
    logger.info(
        "indexed %s articles: %s embedded, %s kept, %s deleted, %s failed",
        len(article_ids),
        result.embedded,
        result.kept,
        result.deleted,
        len(result.failed),
    )
    for article_id, reason in result.failed.items():
        # The article's previous passages keep serving; the next change or a re-index retries.
        logger.error("article %s was not re-indexed: %s", article_id, reason)
    return {"embedded": result.embedded, "kept": result.kept, "deleted": result.deleted, "failed": result.failed}


def build_space(space_id: int) -> str:
    space = index.build_space(space_id=space_id)
    return str(space.status)

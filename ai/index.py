"""Keeping the knowledge index in step with the articles.

Embedding happens before any write and outside the transaction: when the provider fails,
the article's old passages stay untouched and keep serving (nothing half-indexed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from ai.chunking import Chunk, split_article
from ai.models import EmbeddingSpace, KnowledgeSettings, Passage, SpaceStatus
from ai.providers import EmbeddingError, EmbeddingProvider, ProviderConfig, get_embedding_provider
from helpdesk.models import Article, ArticleStatus, Workspace

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class IndexResult:
    embedded: int = 0
    kept: int = 0
    deleted: int = 0
    failed: dict[int, str] = field(default_factory=dict)

    def add(self, other: IndexResult) -> None:
        self.embedded += other.embedded
        self.kept += other.kept
        self.deleted += other.deleted
        self.failed.update(other.failed)


def workspace_provider_config(workspace: Workspace) -> ProviderConfig:
    settings_row = KnowledgeSettings.objects.filter(workspace=workspace).first()
    return settings_row.provider_config() if settings_row else ProviderConfig()


def provider_for_space(space: EmbeddingSpace) -> EmbeddingProvider:
    return get_embedding_provider(space.provider_config())


def active_space(workspace_id: int) -> EmbeddingSpace | None:
    return EmbeddingSpace.objects.filter(workspace_id=workspace_id, status=SpaceStatus.ACTIVE).first()


def ensure_active_space(workspace: Workspace) -> EmbeddingSpace:
    """The workspace's serving space, created from its settings the first time it is needed."""
    space = active_space(workspace.pk)
    if space is not None:
        return space
    config = workspace_provider_config(workspace)
    provider = get_embedding_provider(config)
    with transaction.atomic():
        Workspace.objects.select_for_update(no_key=True).get(pk=workspace.pk)
        space = active_space(workspace.pk)
        if space is None:
            space = create_space(workspace=workspace, config=config, provider=provider, status=SpaceStatus.ACTIVE)
    return space


def create_space(
    *, workspace: Workspace, config: ProviderConfig, provider: EmbeddingProvider, status: str
) -> EmbeddingSpace:
    """A new space for these settings (an ACTIVE one is activated now)."""
    return EmbeddingSpace.objects.create(
        workspace=workspace,
        provider=config.provider,
        model=provider.model,
        dimensions=provider.dimensions,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        timeout_seconds=config.timeout,
        status=status,
        activated_at=timezone.now() if status == SpaceStatus.ACTIVE else None,
    )


def live_spaces(workspace: Workspace) -> list[EmbeddingSpace]:
    """Spaces that must follow article changes: the active one and one being built."""
    ensure_active_space(workspace)
    return list(
        EmbeddingSpace.objects.filter(workspace=workspace, status__in=[SpaceStatus.ACTIVE, SpaceStatus.BUILDING])
    )


# Articles whose new passages are embedded in one provider call: big batches are much
# faster on the local model (and fewer requests on a remote one).
EMBED_ARTICLE_BATCH = 32


def index_articles(*, article_ids: Iterable[int], progress: Progress | None = None) -> IndexResult:
    """Bring the passages of these articles up to date in every live space; returns counts."""
    result = IndexResult()
    articles = list(Article.objects.filter(pk__in=list(article_ids)).select_related("workspace").order_by("pk"))
    providers: dict[int, EmbeddingProvider] = {}
    for start in range(0, len(articles), EMBED_ARTICLE_BATCH):
        batch = articles[start : start + EMBED_ARTICLE_BATCH]
        by_space: dict[int, tuple[EmbeddingSpace, list[Article]]] = {}
        # The live spaces of each workspace, read once per batch (an import is one workspace).
        spaces: dict[int, list[EmbeddingSpace] | EmbeddingError] = {}
        for article in batch:
            if article.workspace_id not in spaces:
                try:
                    spaces[article.workspace_id] = live_spaces(article.workspace)
                except EmbeddingError as exc:
                    spaces[article.workspace_id] = exc
            found = spaces[article.workspace_id]
            if isinstance(found, EmbeddingError):
                result.failed[article.pk] = str(found)
                continue
            for space in found:
                by_space.setdefault(space.pk, (space, []))[1].append(article)
        for space, members in by_space.values():
            try:
                provider = providers.get(space.pk) or provider_for_space(space)
                providers[space.pk] = provider
                result.add(sync_articles(space=space, articles=members, provider=provider))
            except EmbeddingError as exc:
                logger.warning("indexing articles %s into space %s failed: %s", [a.pk for a in members], space.pk, exc)
                result.failed.update({a.pk: str(exc) for a in members})
        if progress:
            progress(min(start + EMBED_ARTICLE_BATCH, len(articles)), len(articles))
    return result


def sync_article(*, space: EmbeddingSpace, article: Article, provider: EmbeddingProvider) -> IndexResult:
    return sync_articles(space=space, articles=[article], provider=provider)


def sync_articles(*, space: EmbeddingSpace, articles: list[Article], provider: EmbeddingProvider) -> IndexResult:
    """Re-embed only the passages whose content hash is new; drop the ones that went away.

    All new passages of the batch are embedded first, in one call; only then is anything
    written, one transaction per article.
    """
    plans: list[tuple[Article, list[Chunk]]] = []
    to_embed: dict[str, Chunk] = {}
    have: dict[int, set[str]] = {}
    for hash_, article_id in Passage.objects.filter(space=space, article__in=articles).values_list(
        "content_hash", "article_id"
    ):
        have.setdefault(article_id, set()).add(hash_)
    for article in articles:
        chunks = split_article(article) if article.status == ArticleStatus.PUBLISHED else []
        plans.append((article, chunks))
        for chunk in chunks:
            if chunk.content_hash not in have.get(article.pk, set()):
                to_embed.setdefault(chunk.content_hash, chunk)
    vectors = _embed(provider, space, [c.embed_text for c in to_embed.values()])
    by_hash = dict(zip(to_embed, vectors, strict=True))
    result = IndexResult()
    for article, chunks in plans:
        result.add(_write_article(space=space, article=article, chunks=chunks, by_hash=by_hash))
    return result


def _write_article(
    *, space: EmbeddingSpace, article: Article, chunks: list[Chunk], by_hash: dict[str, list[float]]
) -> IndexResult:
    result = IndexResult()
    with transaction.atomic():
        # Serialise index runs of one article; the lock ends with the transaction.
        Article.objects.select_for_update().filter(pk=article.pk).first()
        existing: dict[str, list[Passage]] = {}
        for passage in Passage.objects.filter(space=space, article=article):
            existing.setdefault(passage.content_hash, []).append(passage)
        new_rows: list[Passage] = []
        for chunk in chunks:
            reusable = existing.get(chunk.content_hash)
            if reusable:
                passage = reusable.pop()
                if passage.position != chunk.position:
                    passage.position = chunk.position
                    passage.save(update_fields=["position"])
                result.kept += 1
                continue
            vector = by_hash.get(chunk.content_hash)
            if vector is None:  # appeared since we read the hashes; the next run embeds it
                continue
            new_rows.append(
                Passage(
                    space=space,
                    workspace_id=article.workspace_id,
                    article=article,
                    position=chunk.position,
                    heading_path=chunk.heading_path,
                    anchor=chunk.anchor,
                    text=chunk.text,
                    content_hash=chunk.content_hash,
                    dims=space.dimensions,
                    embedding=vector,
                )
            )
        stale = [p.pk for rows in existing.values() for p in rows]
        if stale:
            result.deleted = Passage.objects.filter(pk__in=stale).delete()[0]
        Passage.objects.bulk_create(new_rows, batch_size=500)
        result.embedded = len(new_rows)
    return result


def _embed(provider: EmbeddingProvider, space: EmbeddingSpace, texts: list[str]) -> list[list[float]]:
    if not texts:
        return []
    vectors = provider.embed(texts)
    if len(vectors) != len(texts):
        raise EmbeddingError(f"provider returned {len(vectors)} vectors for {len(texts)} texts")
    for vector in vectors:
        if len(vector) != space.dimensions:
            raise EmbeddingError(f"provider returned {len(vector)} dimensions, the index has {space.dimensions}")
    return vectors


def build_space(*, space_id: int, progress: Progress | None = None) -> EmbeddingSpace:
    """Embed every article into a BUILDING space, then make it the active one in one step.

    On failure the space is marked FAILED with the reason and its passages are dropped;
    the previously active space keeps serving throughout.
    """
    space = EmbeddingSpace.objects.select_related("workspace").get(pk=space_id)
    if space.status != SpaceStatus.BUILDING:
        return space
    article_ids = list(
        Article.objects.filter(workspace=space.workspace, status=ArticleStatus.PUBLISHED).values_list("pk", flat=True)
    )
    try:
        provider = provider_for_space(space)
        for start in range(0, len(article_ids), EMBED_ARTICLE_BATCH):
            batch = list(Article.objects.filter(pk__in=article_ids[start : start + EMBED_ARTICLE_BATCH]))
            sync_articles(space=space, articles=batch, provider=provider)
            if progress:
                progress(min(start + EMBED_ARTICLE_BATCH, len(article_ids)), len(article_ids))
    except EmbeddingError as exc:
        with transaction.atomic():
            Passage.objects.filter(space=space).delete()
            EmbeddingSpace.objects.filter(pk=space.pk, status=SpaceStatus.BUILDING).update(
                status=SpaceStatus.FAILED, error=str(exc)[:2000]
            )
        space.refresh_from_db()
        logger.warning("building embedding space %s failed: %s", space.pk, exc)
        return space
    with transaction.atomic():
        Workspace.objects.select_for_update(no_key=True).get(pk=space.workspace_id)
        # Only a space still BUILDING may flip: a newer settings change may have superseded it.
        if not EmbeddingSpace.objects.filter(pk=space.pk, status=SpaceStatus.BUILDING).exists():
            space.refresh_from_db()
            return space
        old = list(EmbeddingSpace.objects.filter(workspace_id=space.workspace_id, status=SpaceStatus.ACTIVE))
        EmbeddingSpace.objects.filter(pk__in=[s.pk for s in old]).update(status=SpaceStatus.RETIRED)
        Passage.objects.filter(space__in=old).delete()
        EmbeddingSpace.objects.filter(pk=space.pk).update(status=SpaceStatus.ACTIVE, activated_at=timezone.now())
    space.refresh_from_db()
    return space

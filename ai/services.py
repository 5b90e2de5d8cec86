"""State changes of the knowledge index: settings, scheduling of (re-)indexing.

Indexing itself runs in django-q2 after commit (`ai.tasks`); these functions only decide
what must be (re-)embedded and enqueue it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django_q.tasks import async_task

from ai.index import create_space, ensure_active_space
from ai.models import EmbeddingProviderName, EmbeddingSpace, KnowledgeSettings, SpaceStatus
from ai.providers import EmbeddingError, get_embedding_provider
from audit.services import Actor, audit_record
from helpdesk.hooks import ReindexRequest
from helpdesk.models import Article, Workspace

# One task per this many articles keeps a big import from becoming one hour-long task.
INDEX_TASK_BATCH = 50


def knowledge_articles_changed(*, article_ids: Iterable[int]) -> None:
    """Re-index these articles after the current transaction commits (only what changed)."""
    ids = sorted(set(article_ids))
    if not ids:
        return

    def enqueue() -> None:
        for start in range(0, len(ids), INDEX_TASK_BATCH):
            batch = ids[start : start + INDEX_TASK_BATCH]
            async_task("ai.tasks.index_articles", batch, task_name=f"index-articles-{batch[0]}-{len(batch)}")

    transaction.on_commit(enqueue)


def knowledge_reindex(*, workspace: Workspace, actor: Actor, article_ids: Iterable[int] | None = None) -> int:
    """Re-check the given articles (default: all of the workspace) against the index."""
    articles = Article.objects.filter(workspace=workspace)
    if article_ids is not None:
        articles = articles.filter(pk__in=list(article_ids))
    ids = list(articles.values_list("pk", flat=True))
    with transaction.atomic():
        audit_record(workspace=workspace, actor=actor, kind="knowledge.reindex", data={"articles": len(ids)})
        knowledge_articles_changed(article_ids=ids)
    return len(ids)


def articles_changed(article_ids: Sequence[int]) -> None:
    """helpdesk.hooks.articles_changed: the help center created, edited or imported these."""
    knowledge_articles_changed(article_ids=article_ids)


def articles_reindex(request: ReindexRequest) -> None:
    """helpdesk.hooks.articles_reindex: a manager's "Re-index selected articles"."""
    knowledge_reindex(workspace=request.workspace, actor=request.actor, article_ids=request.article_ids)


@transaction.atomic
def knowledge_settings_update(
    *,
    workspace: Workspace,
    actor: Actor,
    embedding_provider: str,
    base_url: str = "",
    model: str = "",
    dimensions: int | None = None,
    api_key_env: str = "",
    timeout_seconds: float = 30.0,
) -> KnowledgeSettings:
    """Save the workspace's embedding settings; a new provider/model re-embeds in the background.

    The current index keeps serving search until the new space is complete (`build_space`).
    """
    row, _ = KnowledgeSettings.objects.select_for_update().get_or_create(workspace=workspace)
    row.embedding_provider = embedding_provider
    row.base_url = base_url if embedding_provider == EmbeddingProviderName.OPENAI else ""
    row.model = model if embedding_provider == EmbeddingProviderName.OPENAI else ""
    row.dimensions = dimensions if embedding_provider == EmbeddingProviderName.OPENAI else None
    row.api_key_env = api_key_env if embedding_provider == EmbeddingProviderName.OPENAI else ""
    row.timeout_seconds = timeout_seconds
    row.full_clean()
    row.save()
    space = schedule_space_for_settings(workspace=workspace, settings_row=row)
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="knowledge.settings_changed",
        data={
            "embedding_provider": row.embedding_provider,
            "base_url": row.base_url,
            "model": row.model,
            "dimensions": row.dimensions,
            "api_key_env": row.api_key_env,
            "rebuild_space": space.pk if space else None,
        },
    )
    return row


def schedule_space_for_settings(*, workspace: Workspace, settings_row: KnowledgeSettings) -> EmbeddingSpace | None:
    """Start building a new space when the settings no longer match the active one."""
    config = settings_row.provider_config()
    # Building the provider validates the configuration without calling the endpoint.
    try:
        provider = get_embedding_provider(config)
    except EmbeddingError as exc:
        raise ValidationError(str(exc)) from exc
    active = ensure_active_space(workspace)
    building = EmbeddingSpace.objects.filter(workspace=workspace, status=SpaceStatus.BUILDING).first()
    if active.same_config(config, dimensions=provider.dimensions, model=provider.model):
        if building is not None:
            _supersede(building)
        return None
    if building is not None:
        if building.same_config(config, dimensions=provider.dimensions, model=provider.model):
            return building
        _supersede(building)
    space = create_space(workspace=workspace, config=config, provider=provider, status=SpaceStatus.BUILDING)
    transaction.on_commit(lambda: async_task("ai.tasks.build_space", space.pk, task_name=f"build-space-{space.pk}"))
    return space


def _supersede(space: EmbeddingSpace) -> None:
    space.passages.all().delete()
    EmbeddingSpace.objects.filter(pk=space.pk).update(status=SpaceStatus.FAILED, error="superseded by newer settings")

from __future__ import annotations

import math
from typing import Any

import pytest

from ai.models import EmbeddingSpace, KnowledgeSettings, Passage, SpaceStatus
from ai.providers import EmbeddingError, ProviderConfig, get_embedding_provider
from ai.providers.openai import OpenAIEmbeddingProvider
from ai.search import search
from ai.services import knowledge_settings_update
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.helpcenter_import import import_helpcenter

ARTICLE = """---
title: Passwords
url: https://acme.test/help/passwords
---
## Reset your password

Click "Forgot password" on the sign-in page and follow the emailed link.

## Two-factor login

Use an authenticator app for a second factor.
"""


def test_it_embeds_through_the_openai_client_over_real_http(embeddings_server, monkeypatch):
    monkeypatch.setenv("ACME_EMBED_KEY", "sk-test-123")
    config = ProviderConfig(
        provider="openai",
        model="text-embed-small",
        dimensions=16,
        base_url=embeddings_server.base_url,
        api_key_env="ACME_EMBED_KEY",
    )
    provider = get_embedding_provider(config)
    vectors = provider.embed(["reset password", "two factor"])
    assert len(vectors) == 2 and all(len(v) == 16 for v in vectors)
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-6)
    assert embeddings_server.requests[0]["model"] == "text-embed-small"
    assert embeddings_server.requests[0]["input"] == ["reset password", "two factor"]
    assert embeddings_server.auth_headers[0] == "Bearer sk-test-123"


def test_it_reports_a_timeout_clearly(embeddings_server):
    embeddings_server.delay = 1.5
    provider = OpenAIEmbeddingProvider(
        base_url=embeddings_server.base_url, api_key="k", model="m", dimensions=16, timeout=0.3
    )
    with pytest.raises(EmbeddingError, match="timed out"):
        provider.embed(["hello"])


def test_it_refuses_vectors_of_the_wrong_dimension(embeddings_server):
    embeddings_server.returned_dims = 8
    provider = OpenAIEmbeddingProvider(base_url=embeddings_server.base_url, api_key="k", model="m", dimensions=16)
    with pytest.raises(EmbeddingError, match="returned 8 dimensions, expected 16"):
        provider.embed(["hello"])


def test_it_needs_the_api_key_variable_to_be_set(monkeypatch):
    monkeypatch.delenv("MISSING_KEY_VAR", raising=False)
    config = ProviderConfig(provider="openai", model="m", dimensions=16, api_key_env="MISSING_KEY_VAR")
    with pytest.raises(EmbeddingError, match="MISSING_KEY_VAR"):
        get_embedding_provider(config)


@pytest.fixture
def indexed(workspace, tmp_path, django_capture_on_commit_callbacks):
    (tmp_path / "passwords.md").write_text(ARTICLE)
    with django_capture_on_commit_callbacks(execute=True):
        import_helpcenter(workspace=workspace, path=tmp_path, actor=Actor.system("test"))
    return EmbeddingSpace.objects.get(workspace=workspace, status=SpaceStatus.ACTIVE)


def _switch(workspace: Any, server: Any, captured: Any, **overrides: Any) -> Any:
    options = {"model": "text-embed-small", "dimensions": 16, "timeout_seconds": 0.5, **overrides}
    with captured(execute=True):
        return knowledge_settings_update(
            workspace=workspace,
            actor=Actor.system("test"),
            embedding_provider="openai",
            base_url=server.base_url,
            **options,
        )


def test_it_rebuilds_the_index_in_a_new_space_and_flips_when_complete(
    indexed, workspace, embeddings_server, django_capture_on_commit_callbacks
):
    _switch(workspace, embeddings_server, django_capture_on_commit_callbacks)
    active = EmbeddingSpace.objects.get(workspace=workspace, status=SpaceStatus.ACTIVE)
    assert (active.provider, active.model, active.dimensions) == ("openai", "text-embed-small", 16)
    assert EmbeddingSpace.objects.get(pk=indexed.pk).status == SpaceStatus.RETIRED
    assert not Passage.objects.filter(space=indexed).exists()
    assert Passage.objects.filter(space=active).count() == 2
    assert set(Passage.objects.filter(space=active).values_list("dims", flat=True)) == {16}
    hits = search(workspace=workspace, query="reset password forgot", k=1)
    assert hits[0].anchor == "reset-your-password"
    assert AuditEvent.objects.filter(workspace=workspace, kind="knowledge.settings_changed").count() == 1
    assert KnowledgeSettings.objects.get(workspace=workspace).api_key_env == ""


def test_it_keeps_serving_the_old_index_when_the_endpoint_times_out(
    indexed, workspace, embeddings_server, django_capture_on_commit_callbacks
):
    embeddings_server.delay = 1.5
    _switch(workspace, embeddings_server, django_capture_on_commit_callbacks, timeout_seconds=0.3)
    failed = EmbeddingSpace.objects.get(workspace=workspace, provider="openai")
    assert failed.status == SpaceStatus.FAILED
    assert "timed out" in failed.error
    assert not Passage.objects.filter(space=failed).exists()
    assert EmbeddingSpace.objects.get(workspace=workspace, status=SpaceStatus.ACTIVE).pk == indexed.pk
    assert search(workspace=workspace, query="reset my password", k=1)[0].anchor == "reset-your-password"


def test_it_keeps_serving_the_old_index_on_a_wrong_dimension(
    indexed, workspace, embeddings_server, django_capture_on_commit_callbacks
):
    _switch(workspace, embeddings_server, django_capture_on_commit_callbacks)
    serving = EmbeddingSpace.objects.get(workspace=workspace, status=SpaceStatus.ACTIVE)
    # The endpoint starts returning another size for a new model: nothing half-indexed.
    embeddings_server.returned_dims = 8
    _switch(workspace, embeddings_server, django_capture_on_commit_callbacks, model="text-embed-large")
    failed = EmbeddingSpace.objects.get(workspace=workspace, model="text-embed-large")
    assert failed.status == SpaceStatus.FAILED
    assert "8 dimensions, expected 16" in failed.error
    assert not Passage.objects.filter(space=failed).exists()
    assert EmbeddingSpace.objects.get(workspace=workspace, status=SpaceStatus.ACTIVE).pk == serving.pk
    assert Passage.objects.filter(space=serving).count() == 2


def test_it_keeps_old_passages_when_reindexing_an_edited_article_fails(
    indexed, workspace, embeddings_server, tmp_path, django_capture_on_commit_callbacks
):
    _switch(workspace, embeddings_server, django_capture_on_commit_callbacks)
    serving = EmbeddingSpace.objects.get(workspace=workspace, status=SpaceStatus.ACTIVE)
    before = set(Passage.objects.filter(space=serving).values_list("pk", "text"))
    embeddings_server.delay = 1.5
    (tmp_path / "passwords.md").write_text(ARTICLE.replace("authenticator app", "hardware key"))
    with django_capture_on_commit_callbacks(execute=True):
        report = import_helpcenter(workspace=workspace, path=tmp_path, actor=Actor.system("test"))
    assert len(report.updated) == 1
    assert set(Passage.objects.filter(space=serving).values_list("pk", "text")) == before
    # Search falls back to full text when the query cannot be embedded.
    assert search(workspace=workspace, query="authenticator", k=1)[0].anchor == "two-factor-login"


def test_it_refuses_settings_without_a_model_or_dimensions(workspace):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="dimensions"):
        knowledge_settings_update(
            workspace=workspace,
            actor=Actor.system("test"),
            embedding_provider="openai",
            base_url="http://127.0.0.1:9/v1",
            model="m",
            dimensions=None,
        )
    assert not KnowledgeSettings.objects.filter(workspace=workspace).exists()

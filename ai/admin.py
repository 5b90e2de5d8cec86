"""Admin for the knowledge index: per-workspace embedding settings, spaces and passages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ai.models import EmbeddingSpace, KnowledgeSettings, Passage
from ai.services import knowledge_settings_update
from audit.services import Actor
from helpdesk.admin import InternalAdmin, ManagedSettingsAdmin


@admin.register(KnowledgeSettings)
class KnowledgeSettingsAdmin(ManagedSettingsAdmin):
    list_display = ["workspace", "embedding_provider", "model", "dimensions", "base_url", "updated_at"]
    fields = ["workspace", "embedding_provider", "base_url", "model", "dimensions", "api_key_env", "timeout_seconds"]

    def save_model(self, request: HttpRequest, obj: KnowledgeSettings, form: Any, change: bool) -> None:
        # Through the service: it audits the change and re-embeds in the background if needed.
        saved = knowledge_settings_update(
            workspace=obj.workspace,
            actor=Actor.for_user(request.user),
            embedding_provider=obj.embedding_provider,
            base_url=obj.base_url,
            model=obj.model,
            dimensions=obj.dimensions,
            api_key_env=obj.api_key_env,
            timeout_seconds=obj.timeout_seconds,
        )
        obj.pk = saved.pk


@admin.register(EmbeddingSpace)
class EmbeddingSpaceAdmin(InternalAdmin):
    list_display = ["workspace", "provider", "model", "dimensions", "status", "created_at", "activated_at"]
    list_filter = ["status", "provider"]
    readonly_fields = [f.name for f in EmbeddingSpace._meta.fields]


@admin.register(Passage)
class PassageAdmin(InternalAdmin):
    list_display = ["heading_path", "anchor", "workspace", "space"]
    list_filter = ["workspace"]
    search_fields = ["heading_path", "text"]
    exclude = ["embedding"]
    readonly_fields = ["space", "workspace", "article", "position", "heading_path", "anchor", "text", "content_hash"]


from ai import (  # noqa: E402, F401
    admin_agent,
    admin_controls,
    admin_tools,
)

"""The offline chat provider: the deterministic planner's calls, and template drafts."""

from __future__ import annotations

from typing import Any

from ai.providers.chat_base import PROMPT_VERSION, ChatDraft, ChatPlan, ChatRequest

LOCAL_CHAT_MODEL = "local-templates-v1"


class LocalChatProvider:
    name = "local"
    model = LOCAL_CHAT_MODEL
    prompt_version = PROMPT_VERSION

    def plan(self, request: ChatRequest) -> ChatPlan:
        # The pipeline planned the asks already (ai.tools.plan_asks: it needs the ticket and its orders).
        return ChatPlan(calls=list(request.planned))

    def draft(self, request: ChatRequest, plan: ChatPlan, tool_results: list[dict[str, Any]]) -> ChatDraft:
        from ai.agent.answer import compose_local

        return compose_local(request, tool_results)

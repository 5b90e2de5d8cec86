"""The chat provider interface of the Agent: plan tool calls, then draft a reply.

Two steps because a model may ask for tools first: `plan` returns the calls it wants (and,
if it answered straight away, the draft); `draft` gets the tool results and returns the
reply. Everything a provider receives is already redacted.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

PROMPT_VERSION = "agent-2026-11-1"


class ProviderError(Exception):
    """The provider failed (down, timeout, refusal, malformed output): a human takes over."""

    def __init__(self, short: str, detail: str = "") -> None:
        super().__init__(short)
        self.short = short
        self.detail = detail


@dataclass(frozen=True)
class PlannedCall:
    tool: str
    args: dict[str, Any]
    call_id: str = ""


@dataclass
class ChatRequest:
    workspace_id: int
    workspace_name: str
    ticket_type: str
    language: str
    customer_name: str
    subject: str
    text: str  # redacted customer message (with the thread's context)
    passages: list[dict[str, Any]]  # {n, title, url, heading, text}
    tools: list[dict[str, Any]] = field(default_factory=list)  # OpenAI tool schemas (enabled only)
    planned: list[PlannedCall] = field(default_factory=list)  # the local planner's calls
    deadline: float = 0.0  # time.monotonic() by which the provider must answer
    # The customer's asks and what was done about each (ai.agent.answer.step_outcome reads them).
    steps: list[dict[str, Any]] = field(default_factory=list)
    customer_email: str = ""
    # (passage n, article text) of the best passages' articles: what a reply may quote.
    sources: list[tuple[int, str]] = field(default_factory=list)
    today: dt.date | None = None  # the clock dates are written against (a trial's --now)
    policy: dict[str, Any] = field(default_factory=dict)  # the shop policy's figures a reply may state


@dataclass
class ChatDraft:
    reply: str
    citations: list[int]  # passage numbers [n] the reply relies on
    self_check: float  # the provider's own estimate in [0, 1]
    sentences: list[str] = field(default_factory=list)  # body sentences to ground (local: set)
    quote_scores: list[float] = field(default_factory=list)  # relevance of each quoted sentence
    # Details in the reply (numbers, dates, order numbers, URLs, e-mails) no source or tool result
    # states: such a reply is never sent on its own.
    unsupported: list[str] = field(default_factory=list)
    reply_if_approved: str = ""  # what goes out once a manager approves the held action


@dataclass
class ChatPlan:
    calls: list[PlannedCall]
    draft: ChatDraft | None = None
    state: dict[str, Any] = field(default_factory=dict)


class ChatProvider(Protocol):
    name: str
    model: str
    prompt_version: str

    def plan(self, request: ChatRequest) -> ChatPlan: ...

    def draft(self, request: ChatRequest, plan: ChatPlan, tool_results: list[dict[str, Any]]) -> ChatDraft: ...


@dataclass(frozen=True)
class ChatConfig:
    provider: str = "local"
    model: str = ""
    base_url: str = ""
    api_key_env: str = ""
    timeout: float = 30.0

    def api_key(self) -> str:
        if not self.api_key_env:
            return "no-key"
        value = os.getenv(self.api_key_env, "")
        if not value:
            raise ProviderError("API key not set", f"environment variable {self.api_key_env} is empty")
        return value


def get_chat_provider(config: ChatConfig) -> ChatProvider:
    if config.provider == "local":
        from ai.providers.chat_local import LocalChatProvider

        return LocalChatProvider()
    if config.provider == "openai":
        from ai.providers.chat_openai import OpenAIChatProvider

        return OpenAIChatProvider(
            base_url=config.base_url, api_key=config.api_key(), model=config.model, timeout=config.timeout
        )
    raise ImproperlyConfigured(f"unknown chat provider {config.provider!r}")

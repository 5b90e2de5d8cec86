"""The embedding provider interface and the factory that picks an implementation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from django.core.exceptions import ImproperlyConfigured

LOCAL = "local"
OPENAI = "openai"


class EmbeddingError(Exception):
    """An embedding could not be computed (endpoint down, timeout, wrong dimension, bad model)."""


@runtime_checkable
class EmbeddingProvider(Protocol):
    name: str
    model: str
    dimensions: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One unit-length vector per text, in order; raises EmbeddingError."""
        ...


@dataclass(frozen=True)
class ProviderConfig:
    """Everything needed to build a provider; the API key is named by env var, never stored."""

    provider: str = LOCAL
    model: str = ""
    dimensions: int = 0
    base_url: str = ""
    api_key_env: str = ""
    timeout: float = 30.0

    def api_key(self) -> str:
        if not self.api_key_env:
            # Local servers (vLLM, Ollama, llama.cpp) accept any key; the client insists on one.
            return "no-key"
        value = os.getenv(self.api_key_env, "")
        if not value:
            raise EmbeddingError(f"environment variable {self.api_key_env} (the API key) is not set")
        return value


def get_embedding_provider(config: ProviderConfig) -> EmbeddingProvider:
    if config.provider == LOCAL:
        from ai.providers.local import LocalEmbeddingProvider

        return LocalEmbeddingProvider()
    if config.provider == OPENAI:
        from ai.providers.openai import OpenAIEmbeddingProvider

        return OpenAIEmbeddingProvider(
            base_url=config.base_url,
            api_key=config.api_key(),
            model=config.model,
            dimensions=config.dimensions,
            timeout=config.timeout,
        )
    raise ImproperlyConfigured(f"unknown embedding provider {config.provider!r}")

"""Embedding providers: one interface (`base.EmbeddingProvider`), one module per vendor.

All model and embedding HTTP calls go through this package, so there is one seam to test.
"""

from __future__ import annotations

from ai.providers.base import EmbeddingError, EmbeddingProvider, ProviderConfig, get_embedding_provider

__all__ = ["EmbeddingError", "EmbeddingProvider", "ProviderConfig", "get_embedding_provider"]

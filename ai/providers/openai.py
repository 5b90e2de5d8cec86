"""Any OpenAI-compatible /v1/embeddings endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp)."""

from __future__ import annotations

import math

import openai as openai_sdk

from ai.providers.base import OPENAI, EmbeddingError

# Endpoints cap the inputs per request; 128 stays under every known limit.
REQUEST_BATCH = 128


class OpenAIEmbeddingProvider:
    name = OPENAI

    def __init__(self, *, base_url: str, api_key: str, model: str, dimensions: int, timeout: float = 30.0) -> None:
        if not model:
            raise EmbeddingError("the openai embedding provider needs a model name")
        if dimensions <= 0:
            raise EmbeddingError("the openai embedding provider needs the model's dimensions")
        self.model = model
        self.dimensions = dimensions
        # Retries belong to the task queue, not to a request hidden inside an index run.
        self.client = openai_sdk.OpenAI(base_url=base_url or None, api_key=api_key, timeout=timeout, max_retries=0)

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), REQUEST_BATCH):
            vectors.extend(self._embed_batch(texts[start : start + REQUEST_BATCH]))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        try:
            response = self.client.embeddings.create(model=self.model, input=texts, encoding_format="float")
        except openai_sdk.APITimeoutError as exc:
            raise EmbeddingError(f"embedding endpoint timed out ({self.client.base_url})") from exc
        except openai_sdk.OpenAIError as exc:
            raise EmbeddingError(f"embedding endpoint failed: {exc}") from exc
        data = sorted(response.data, key=lambda item: item.index)
        if len(data) != len(texts):
            raise EmbeddingError(f"embedding endpoint returned {len(data)} vectors for {len(texts)} inputs")
        vectors: list[list[float]] = []
        for item in data:
            vector = [float(x) for x in item.embedding]
            if len(vector) != self.dimensions:
                raise EmbeddingError(
                    f"embedding endpoint returned {len(vector)} dimensions, expected {self.dimensions} "
                    f"(model {self.model})"
                )
            norm = math.sqrt(sum(x * x for x in vector))
            if norm == 0.0 or not math.isfinite(norm):
                raise EmbeddingError("embedding endpoint returned a zero or non-finite vector")
            vectors.append([x / norm for x in vector])
        return vectors

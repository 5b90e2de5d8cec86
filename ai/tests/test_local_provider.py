from __future__ import annotations

import math

import pytest

from ai.providers import EmbeddingError
from ai.providers.local import DIMENSIONS, LocalEmbeddingProvider, _Model, _model_path, _tokenizer_path


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_it_embeds_offline_into_unit_vectors_of_384_dimensions():
    vectors = LocalEmbeddingProvider().embed(["How do I get a refund?", "Where is my parcel?", "x"])
    assert len(vectors) == 3
    assert all(len(v) == DIMENSIONS for v in vectors)
    assert all(math.isclose(math.sqrt(sum(x * x for x in v)), 1.0, rel_tol=1e-4) for v in vectors)


def test_it_puts_paraphrases_closer_than_unrelated_text():
    refund, money_back, weather = LocalEmbeddingProvider().embed(
        ["How do I get a refund for my order?", "I want my money back for a purchase", "The weather is sunny today"]
    )
    assert _cos(refund, money_back) > _cos(refund, weather) + 0.2


def test_it_gives_the_same_vector_alone_or_in_a_padded_batch():
    provider = LocalEmbeddingProvider()
    alone = provider.embed(["reset my password"])[0]
    batched = provider.embed(["reset my password", "a much longer sentence " * 20])[0]
    assert _cos(alone, batched) > 0.9999


def test_it_refuses_a_model_file_with_the_wrong_sha256(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(EmbeddingError, match="sha256"):
        _Model(fake, _tokenizer_path())


def test_it_reports_a_missing_model_file(tmp_path):
    with pytest.raises(EmbeddingError, match="not found"):
        _Model(tmp_path / "absent.onnx", _tokenizer_path())
    assert _model_path().is_file()


def test_it_embeds_a_text_alone_once_and_never_serves_a_batch_from_memory(monkeypatch):
    """One run embeds the customer's text alone for triage and again for retrieval: once."""
    from ai.providers.local import load_model

    provider = LocalEmbeddingProvider()
    text = "Does the rain jacket run true to size? (embedded alone, twice)"
    first = provider.embed([text])
    model = load_model()
    original = model.encode
    calls: list[list[str]] = []

    def counting(texts):
        calls.append(list(texts))
        return original(texts)

    monkeypatch.setattr(model, "encode", counting)
    assert provider.embed([text]) == first
    assert provider.embed_array([text]).tolist() == first
    assert calls == []
    provider.embed([text, "and another text in the same batch"])
    assert calls == [[text, "and another text in the same batch"]]

"""Sentence-level grounding and retrieval support by embedding similarity (local model).

Whatever the chat provider, grounding uses the offline all-MiniLM-L6-v2 embedder, so a
score means the same thing for every provider.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

from ai.providers.local import LocalEmbeddingProvider

# A sentence counts as grounded when some source sentence is at least this similar.
GROUNDED_COSINE = 0.6
_CACHE_SIZE = 20000
_cache: OrderedDict[str, np.ndarray[Any, np.dtype[np.float32]]] = OrderedDict()
_cache_lock = threading.Lock()
_embedder = LocalEmbeddingProvider()

_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n+")
_MD_LINK_RE = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_BULLET_RE = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_CITE_RE = re.compile(r"\s*\[\d+\]")


def clean_markdown(text: str) -> str:
    text = _MD_LINK_RE.sub(r"\1", text)
    return text.replace("**", "").replace("__", "").replace("`", "")


def split_sentences(text: str, *, min_words: int = 3) -> list[str]:
    out: list[str] = []
    for raw in _SPLIT_RE.split(clean_markdown(text)):
        sentence = _BULLET_RE.sub("", raw.strip().lstrip("#").strip())
        if len(sentence.split()) >= min_words:
            out.append(sentence[:500])
    return out


def strip_citations(text: str) -> str:
    return _CITE_RE.sub("", text).strip()


def embed(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Unit vectors for texts, with a per-process LRU cache (help-center passages repeat)."""
    out = np.zeros((len(texts), 384), dtype=np.float32)
    missing: list[int] = []
    with _cache_lock:
        for i, text in enumerate(texts):
            vector = _cache.get(text)
            if vector is None:
                missing.append(i)
            else:
                _cache.move_to_end(text)
                out[i] = vector
    if missing:
        unique = list(dict.fromkeys(texts[i] for i in missing))
        vectors = _embedder.embed_array(unique)
        found = dict(zip(unique, vectors, strict=True))
        with _cache_lock:
            for text, vector in found.items():
                _cache[text] = vector
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
        for i in missing:
            out[i] = found[texts[i]]
    return out


def retrieval_support(query: str, passage_texts: list[str]) -> tuple[float, float, float]:
    """(support in [0, 1], top cosine, margin over the second) of the query to the passages."""
    if not passage_texts or not query.strip():
        return 0.0, 0.0, 0.0
    vectors = embed([query, *passage_texts])
    sims = sorted((float(x) for x in vectors[1:] @ vectors[0]), reverse=True)
    top = sims[0]
    margin = top - sims[1] if len(sims) > 1 else top
    # MiniLM cosines: ~0.25 is unrelated, >= 0.6 is a direct answer.
    strength = min(1.0, max(0.0, (top - 0.25) / 0.35))
    support = 0.9 * strength + 0.1 * min(1.0, max(0.0, margin / 0.1))
    return round(support, 4), round(top, 4), round(margin, 4)


def groundedness(sentences: list[str], sources: list[str]) -> tuple[float, list[float]]:
    """Share of sentences whose best cosine to a source sentence reaches GROUNDED_COSINE."""
    sentences = [strip_citations(s) for s in sentences if strip_citations(s)]
    if not sentences:
        return 0.0, []
    source_sentences = [s for text in sources for s in split_sentences(text, min_words=1)] or [""]
    vectors = embed(sentences + source_sentences)
    sims = vectors[: len(sentences)] @ vectors[len(sentences) :].T
    best = [round(float(x), 4) for x in sims.max(axis=1)]
    share = sum(1 for x in best if x >= GROUNDED_COSINE) / len(best)
    return round(share, 4), best

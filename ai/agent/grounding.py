"""Sentence-level grounding and retrieval support by embedding similarity (local model).

Whatever the chat provider, grounding uses the offline all-MiniLM-L6-v2 embedder, so a
score means the same thing for every provider.
"""

from __future__ import annotations

import functools
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


@functools.cache
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


_BLOCK_START_RE = re.compile(r"^\s*(?:[-*+•]\s|\d+[.)]\s|#|\|)")


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _table_sentence(header: list[str], cells: list[str]) -> str:
    """A table row as a sentence a reply can quote: "Standard (USPS or UPS Ground): delivery
    time after dispatch 3-6 business days; cost $6.95, free over $75."."""
    pairs = [f"{h.lower()} {c}" if h else c for h, c in zip(header[1:], cells[1:], strict=False) if c]
    return f"{cells[0]}: {'; '.join(pairs)}." if pairs else cells[0]


def paragraphs(text: str) -> list[str]:
    """Markdown text as paragraphs: wrapped lines joined, list items and headings kept apart,
    table rows written as sentences, so a sentence wrapped over two lines is one sentence."""
    blocks: list[str] = []
    current: list[str] = []
    header: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or _BLOCK_START_RE.match(line):
            if current:
                blocks.append(" ".join(current))
            current = []
            if stripped.startswith("|"):
                cells = _cells(stripped)
                if all(set(c) <= set("-: ") for c in cells):
                    continue  # the header's separator row
                if not header:
                    header = cells
                else:
                    blocks.append(_table_sentence(header, cells))
                continue
            header = []
            if stripped.startswith("#"):
                blocks.append(stripped)
            elif stripped:
                current = [stripped]
            continue
        current.append(stripped)
    if current:
        blocks.append(" ".join(current))
    return [b for b in blocks if b]


def _pieces(text: str, segmenter: bool) -> list[str]:
    if not segmenter:
        return _SPLIT_RE.split(text)
    # pysbd keeps "P.O. boxes", "e.g." and "Nov. 17" whole.
    return [s for block in paragraphs(text) for s in _segmenter().segment(block)]


def split_sentences(text: str, *, min_words: int = 3, segmenter: bool = False) -> list[str]:
    out: list[str] = []
    for raw in _pieces(clean_markdown(text), segmenter):
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


_DETAIL_RE = re.compile(
    r"https?://[^\s)>\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{2,}\b|\d+"
)
_DIGITS_RE = re.compile(r"\d+")


def details(text: str) -> list[str]:
    """What a reply states that must come from a source: URLs, e-mails, codes with digits (order
    and tracking numbers, references) and numbers (amounts, days, times, counts)."""
    return [m.group(0).rstrip(".,;:") for m in _DETAIL_RE.finditer(strip_citations(text))]


def unsupported_details(text: str, sources: list[str]) -> list[str]:
    """The details of `text` no source states. A number counts as stated when a source has it
    among its digit runs ("17" from "2025-11-17", "149" from "149.00")."""
    corpus = "\n".join(sources).lower()
    digits = set(_DIGITS_RE.findall(corpus))
    missing: list[str] = []
    for detail in details(text):
        if detail.lower() in corpus:
            continue
        if detail.isdigit() and (detail in digits or detail.lstrip("0") in digits or int(detail) <= 1):
            continue
        if detail not in missing:
            missing.append(detail)
    return missing

"""Lexicon sentiment of a customer message: negative / neutral / positive with a score."""

from __future__ import annotations

import re

NEGATIVE = frozenset(
    [
        "angry",
        "annoyed",
        "awful",
        "bad",
        "broken",
        "disappointed",
        "disappointing",
        "disgusted",
        "frustrated",
        "frustrating",
        "furious",
        "horrible",
        "hate",
        "joke",
        "late",
        "ludicrous",
        "mad",
        "never",
        "poor",
        "rude",
        "ridiculous",
        "scam",
        "terrible",
        "unacceptable",
        "upset",
        "useless",
        "worst",
        "worse",
        "waste",
        "wrong",
        "unhappy",
        "outraged",
        "still",
        "again",
        "nobody",
        "ignored",
        "enfadado",
        "terrible",
        "horrible",
        "nunca",
        "peor",
        "inaceptable",
        "decepcionado",
        "estafa",
        "inadmissible",
        "nul",
        "honteux",
        "jamais",
        "déçu",
        "furieux",
        "arnaque",
        "schlecht",
        "schrecklich",
        "enttäuscht",
        "wütend",
        "nie",
        "unverschämt",
        "betrug",
    ]
)
POSITIVE = frozenset(
    [
        "thanks",
        "thank",
        "great",
        "good",
        "love",
        "lovely",
        "excellent",
        "perfect",
        "happy",
        "appreciate",
        "awesome",
        "amazing",
        "helpful",
        "nice",
        "pleased",
        "wonderful",
        "gracias",
        "genial",
        "perfecto",
        "encantado",
        "merci",
        "parfait",
        "génial",
        "super",
        "danke",
        "toll",
        "prima",
    ]
)
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def sentiment(text: str) -> tuple[str, float]:
    """A label and a score in [-1, 1]; shouting (!!!, CAPITALS) counts as negative."""
    words = [w.lower() for w in _WORD_RE.findall(text)]
    if not words:
        return "neutral", 0.0
    neg = sum(1 for w in words if w in NEGATIVE)
    pos = sum(1 for w in words if w in POSITIVE)
    neg += text.count("!!") + sum(1 for w in _WORD_RE.findall(text) if len(w) > 3 and w.isupper())
    score = (pos - neg) / max(3.0, (pos + neg) ** 0.5 * 3)
    score = max(-1.0, min(1.0, score))
    if score <= -0.2:
        return "negative", round(score, 3)
    if score >= 0.2:
        return "positive", round(score, 3)
    return "neutral", round(score, 3)

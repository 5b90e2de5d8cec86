"""A confidence score's parts in plain words, for the Copilot and the approval pages."""

from __future__ import annotations

from typing import Any


def _strength(value: float, strong: str, fair: str, weak: str) -> str:
    if value >= 0.75:
        return strong
    if value >= 0.5:
        return fair
    return weak


PART_WORDS: dict[str, tuple[str, str, str, str]] = {
    "covered": ("Asks", "every ask answered or done", "some asks still open", "most asks still open"),
    "action": ("Action", "done or waiting for approval", "not needed", "not done"),
    "question": ("Answer", "the help center answers it", "a partial answer", "no clear answer"),
    "grounded": ("Grounding", "every detail from a source", "some details unsupported", "a detail no source states"),
    "triage": ("Triage", "sure of the ticket type", "fairly sure of the type", "unsure of the type"),
}


def confidence_reasons(parts: dict[str, Any]) -> list[dict[str, Any]]:
    """The parts of a confidence score in plain words: "Retrieval: strong match (0.82)"."""
    reasons = []
    for key, (label, strong, fair, weak) in PART_WORDS.items():
        value = parts.get(key)
        if not isinstance(value, int | float):
            continue
        words = _strength(float(value), strong, fair, weak)
        reasons.append({"key": key, "label": label, "words": words, "value": f"{float(value):.2f}"})
    return reasons

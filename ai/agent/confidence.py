"""Confidence: a weighted combination of its parts, then the workspace's calibration map."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai.calibration import calibrate_with, latest_map
from ai.models import CalibrationMap

WEIGHTS = {"retrieval": 0.3, "groundedness": 0.25, "triage": 0.2, "tools": 0.1, "self_check": 0.15}


@dataclass
class Confidence:
    value: float
    raw: float
    parts: dict[str, float]
    calibration_map: int | None


def tool_outcome(tool_results: list[dict[str, Any]]) -> float:
    """1 when every call ran (or waits as planned); refusals and failures pull it down."""
    if not tool_results:
        return 1.0
    score = 1.0
    for r in tool_results:
        if r.get("status") == "failed":
            score = min(score, 0.0)
        elif r.get("status") == "refused":
            score = min(score, 0.5)
    return score


def score(*, workspace_id: int, parts: dict[str, float]) -> Confidence:
    return score_with(parts=parts, calibration=latest_map(workspace_id))


def score_with(*, parts: dict[str, float], calibration: CalibrationMap | None) -> Confidence:
    """`score` with the workspace's latest calibration map (or None) already read."""
    parts = {k: round(min(1.0, max(0.0, float(parts.get(k, 0.0)))), 4) for k in WEIGHTS}
    raw = round(sum(WEIGHTS[k] * parts[k] for k in WEIGHTS), 4)
    value, map_id = calibrate_with(row=calibration, raw=raw)
    return Confidence(value=round(min(1.0, max(0.0, value)), 4), raw=raw, parts=parts, calibration_map=map_id)

"""Confidence: the probability that this reply resolves the ticket without a person.

A reply resolves a ticket when every ask is answered or done, the needed action ran (or waits for
a manager's approval), and nothing in it goes beyond the sources and tool results. The parts
below measure exactly that; a logistic model over them (coefficients in `resolve_model.json`,
fitted on the labelled dev set by `bench/answers_fit.py`) turns them into a probability, and the
workspace's calibration map (fitted nightly on reviewers' verdicts) adjusts it to what people saw.

Parts (all in [0, 1], stored with every run and shown wherever the confidence is):
  covered      share of the asks answered or done
  all_covered  1 when every ask is
  action       1 when an action was needed and done or queued; 0.5 when none was needed
  blocked      1 when an ask is stuck (missing detail, policy, tool not allowed or failed)
  question     relevance of the best help-center sentence to the customer's weakest question
               (1 when there is no open question)
  questions    share of the asks that are questions
  triage       the classifier's probability for the type; margin: its lead over the runner-up
  grounded     share of the reply's claims found in the sources and tool results
  english      1 unless a question is answered by quoting the help center to a customer who writes
               another language (quotes are not translated; everything else is)
  trouble      1 when the customer reports something that went wrong (a status alone rarely settles it)
  multi        1 when the message holds more than one ask
  act_done     1 when every ask was an action now done or waiting for approval (or a thank-you)
  lookup       share of the asks answered by looking an order up (its status may not settle it)
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai.calibration import calibrate_with, latest_map
from ai.models import CalibrationMap

FEATURES = (
    "covered",
    "all_covered",
    "action",
    "blocked",
    "question",
    "questions",
    "triage",
    "margin",
    "grounded",
    "english",
    "trouble",
    "multi",
    "act_done",
    "lookup",
)
MODEL_PATH = Path(__file__).with_name("resolve_model.json")
# A reply that leaves an ask open never reaches an autosend threshold, however sure the rest is.
OPEN_ASK_CAP = 0.3


@dataclass
class Confidence:
    value: float
    raw: float
    parts: dict[str, float]
    calibration_map: int | None


@functools.cache
def model() -> dict[str, Any]:
    """{"bias": b, "weights": {feature: w}, "fitted_on": ..., "ece": ...}"""
    data: dict[str, Any] = json.loads(MODEL_PATH.read_text())
    return data


def probability(parts: dict[str, float], coefficients: dict[str, Any] | None = None) -> float:
    coefficients = coefficients or model()
    z = float(coefficients["bias"]) + sum(float(w) * parts.get(k, 0.0) for k, w in coefficients["weights"].items())
    value = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
    if parts.get("all_covered", 0.0) < 1.0:
        value = min(value, OPEN_ASK_CAP)
    return value


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


def clamp(parts: dict[str, float]) -> dict[str, float]:
    return {k: round(min(1.0, max(0.0, float(parts.get(k, 0.0)))), 4) for k in FEATURES}


def score(*, workspace_id: int, parts: dict[str, float]) -> Confidence:
    return score_with(parts=parts, calibration=latest_map(workspace_id))


def score_with(*, parts: dict[str, float], calibration: CalibrationMap | None) -> Confidence:
    """P(resolves) from the parts, then the workspace's latest calibration map (or none)."""
    parts = clamp(parts)
    raw = round(probability(parts), 4)
    value, map_id = calibrate_with(row=calibration, raw=raw)
    if parts["all_covered"] < 1.0:
        value = min(value, OPEN_ASK_CAP)  # the map is fitted on feedback; it never opens a stuck reply
    return Confidence(value=round(min(1.0, max(0.0, value)), 4), raw=raw, parts=parts, calibration_map=map_id)

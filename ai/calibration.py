"""Calibration: map raw confidence to the observed rate at which drafts were right.

Labels come from DraftFeedback: a draft sent unchanged or an approved action counts 1; an
edited draft counts 0 (an autosend of it would have sent something a human had to fix,
which is exactly what the threshold must prevent); discarded or rejected count 0. The map is
isotonic (pool-adjacent-violators, numpy only), refitted by a scheduled task, with its
reliability bins and expected calibration error stored for the admin.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import QuerySet

from ai.models import AgentRun, CalibrationMap, FeedbackVerdict
from audit.services import Actor, audit_record
from helpdesk.models import Workspace

logger = logging.getLogger(__name__)

LABELS = {
    FeedbackVerdict.SENT_UNCHANGED: 1.0,
    FeedbackVerdict.APPROVED: 1.0,
    FeedbackVerdict.EDITED: 0.0,
    FeedbackVerdict.DISCARDED: 0.0,
    FeedbackVerdict.REJECTED: 0.0,
}
MIN_SAMPLES = 20
BINS = 10


def fit_isotonic(x: list[float], y: list[float]) -> list[list[float]]:
    """Pool-adjacent-violators: the non-decreasing step function closest to y (least squares).

    Returned as points [[raw, calibrated], ...] ascending in raw; `apply_map` interpolates.
    """
    if not x:
        return []
    order = np.argsort(np.asarray(x, dtype=np.float64), kind="stable")
    xs = np.asarray(x, dtype=np.float64)[order]
    ys = np.asarray(y, dtype=np.float64)[order]
    # Each block: [sum_y, weight, x_min, x_max]
    blocks: list[list[float]] = []
    for xi, yi in zip(xs, ys, strict=True):
        blocks.append([float(yi), 1.0, float(xi), float(xi)])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1][0] += last[0]
            blocks[-1][1] += last[1]
            blocks[-1][3] = last[3]
    points: list[list[float]] = []
    for total, weight, lo, hi in blocks:
        value = round(total / weight, 6)
        points.append([round(lo, 6), value])
        if hi > lo:
            points.append([round(hi, 6), value])
    return points


def apply_map(points: list[list[float]], raw: float) -> float:
    if not points:
        return raw
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return float(np.interp(raw, xs, ys))


def reliability(confidences: list[float], labels: list[float], bins: int = BINS) -> tuple[list[dict[str, Any]], float]:
    """Equal-width bins of confidence with their observed accuracy, and the ECE."""
    n = len(confidences)
    out: list[dict[str, Any]] = []
    ece = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if not idx:
            continue
        mean_conf = sum(confidences[i] for i in idx) / len(idx)
        accuracy = sum(labels[i] for i in idx) / len(idx)
        ece += len(idx) / n * abs(accuracy - mean_conf)
        out.append(
            {"lo": lo, "hi": hi, "mean_confidence": round(mean_conf, 4), "accuracy": round(accuracy, 4), "n": len(idx)}
        )
    return out, round(ece, 4)


def training_samples(workspace_id: int) -> tuple[list[float], list[float]]:
    """(raw confidence, label) per run with feedback; the latest verdict on a run counts."""
    latest: dict[int, str] = {}
    rows = (
        AgentRun.objects.filter(workspace_id=workspace_id, raw_confidence__isnull=False, feedback__isnull=False)
        .order_by("pk", "feedback__created_at", "feedback__pk")
        .values_list("pk", "raw_confidence", "feedback__verdict")
    )
    raws: dict[int, float] = {}
    for pk, raw, verdict in rows:
        latest[pk] = verdict
        raws[pk] = float(raw or 0.0)
    x = [raws[pk] for pk in latest]
    y = [LABELS.get(FeedbackVerdict(v), 0.0) for v in latest.values()]
    return x, y


def calibration_refit(*, workspace: Workspace, min_samples: int = MIN_SAMPLES) -> CalibrationMap | None:
    """Fit a new map from the workspace's feedback; None when there is too little of it."""
    x, y = training_samples(workspace.pk)
    if len(x) < min_samples:
        return None
    points = fit_isotonic(x, y)
    calibrated = [apply_map(points, raw) for raw in x]
    bins, ece = reliability(calibrated, y)
    with transaction.atomic():
        row = CalibrationMap.objects.create(
            workspace=workspace, points=points, reliability=bins, ece=ece, samples=len(x)
        )
        audit_record(
            workspace=workspace,
            actor=Actor.system("calibration"),
            kind="ai.calibrated",
            data={"run": None, "map": row.pk, "samples": len(x), "ece": ece},
        )
    return row


def maps_newest_first(workspace_id: int) -> QuerySet[CalibrationMap]:
    return CalibrationMap.objects.filter(workspace_id=workspace_id).order_by("-fitted_at", "-pk")


def latest_map(workspace_id: int) -> CalibrationMap | None:
    return maps_newest_first(workspace_id).first()


def calibrate_with(*, row: CalibrationMap | None, raw: float) -> tuple[float, int | None]:
    """The calibrated confidence and the map used (the workspace's latest, or None: identity
    when no map was fitted yet)."""
    if row is None:
        return raw, None
    return round(apply_map(row.points, raw), 4), row.pk


def calibration_refit_all() -> int:
    fitted = 0
    for workspace in Workspace.objects.filter(agent_runs__feedback__isnull=False).distinct():
        try:
            if calibration_refit(workspace=workspace) is not None:
                fitted += 1
        except Exception:
            logger.exception("calibration refit failed for workspace %s", workspace.pk)
    return fitted


def reliability_svg(bins: list[dict[str, Any]], size: int = 240) -> str:
    """A reliability diagram (observed accuracy against mean confidence per bin) as inline SVG."""
    pad = 28
    inner = size - 2 * pad

    def px(v: float) -> float:
        return round(pad + v * inner, 1)

    def py(v: float) -> float:
        return round(size - pad - v * inner, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
        'role="img" aria-label="Reliability curve">',
        f'<rect x="{pad}" y="{pad}" width="{inner}" height="{inner}" fill="none" stroke="#999"/>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    total = sum(int(b["n"]) for b in bins) or 1
    points = []
    for b in bins:
        x, y = px(float(b["mean_confidence"])), py(float(b["accuracy"]))
        points.append(f"{x},{y}")
        radius = round(2 + 6 * (int(b["n"]) / total) ** 0.5, 1)
        parts.append(f'<circle cx="{x}" cy="{y}" r="{radius}" fill="#2563eb"><title>n={int(b["n"])}</title></circle>')
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#2563eb" stroke-width="2"/>')
    parts.append(f'<text x="{pad}" y="{size - 6}" font-size="10">confidence →</text>')
    parts.append(f'<text x="4" y="{pad - 8}" font-size="10">accuracy ↑</text>')
    parts.append("</svg>")
    return "".join(parts)

"""Fit the confidence model (P(reply resolves the ticket)) on the labelled dev set.

Reads the per-ticket lines `make bench-answers` writes (var/bench-answers/dev.jsonl: each ticket's
confidence parts and whether its reply resolves it), fits an L2-regularised logistic regression
over ai.agent.confidence.FEATURES by Newton's method (numpy only), and writes the coefficients to
ai/agent/resolve_model.json. Only the `dev` split is fitted on; `check` and the tau2 test split are
for reporting. Prints the in-sample and 5-fold cross-validated ECE, the autosend precision at the
default threshold, and, as its last line, JSON.

    python bench/answers_fit.py [--lines var/bench-answers/dev.jsonl] [--l2 1.0] [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import django
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ai.agent.confidence reads its calibration models, so Django is set up first (no database is used).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
os.environ.setdefault("OASIS_TESTING", "1")
django.setup()

from ai.agent.confidence import FEATURES, MODEL_PATH, OPEN_ASK_CAP  # noqa: E402
from bench.answers import ece  # noqa: E402

DEFAULT_THRESHOLD = 0.85


def rows(path: Path) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    x, y = [], []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        if data.get("set") != "dev":
            continue
        parts = data.get("confidence_parts") or {}
        x.append([float(parts.get(k, 0.0)) for k in FEATURES])
        y.append(1.0 if data["resolves"] else 0.0)
    return np.asarray(x), np.asarray(y)


# The direction each part may push the confidence: a part that should only raise it (a question
# answered more closely) never lowers it, whatever a small sample says.
SIGNS = {
    "covered": 1,
    "all_covered": 1,
    "action": 1,
    "blocked": -1,
    "question": 1,
    "questions": -1,
    "triage": 1,
    "margin": 1,
    "grounded": 1,
    "english": 1,
    "trouble": -1,
    "multi": -1,
    "act_done": 1,
    "lookup": -1,
}


def fit(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], l2: float) -> np.ndarray[Any, Any]:
    """`fit_free` with each weight kept to its SIGNS direction: a weight that comes out the wrong
    way is dropped (held at 0) and the rest refitted, until none does."""
    kept = list(range(x.shape[1]))
    while True:
        w_kept = fit_free(x[:, kept], y, l2)
        wrong = [kept[i] for i, v in enumerate(w_kept[:-1]) if v * SIGNS[FEATURES[kept[i]]] < 0]
        if not wrong:
            w = np.zeros(x.shape[1] + 1)
            w[kept] = w_kept[:-1]
            w[-1] = w_kept[-1]
            return w
        kept = [k for k in kept if k not in wrong]


def fit_free(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], l2: float) -> np.ndarray[Any, Any]:
    """Weights (bias last) minimising log loss + l2/2 |w|^2 (the bias is not penalised)."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (p - y) + penalty * w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def predict(x: np.ndarray[Any, Any], w: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    p = 1.0 / (1.0 + np.exp(-np.clip(np.hstack([x, np.ones((len(x), 1))]) @ w, -30, 30)))
    covered = x[:, FEATURES.index("all_covered")] >= 1.0
    out: np.ndarray[Any, Any] = np.where(covered, p, np.minimum(p, OPEN_ASK_CAP))
    return out


def precision_at(p: np.ndarray[Any, Any], y: np.ndarray[Any, Any], threshold: float) -> tuple[float, int]:
    sent = p >= threshold
    return (float(y[sent].mean()) if sent.any() else math.nan), int(sent.sum())


def cross_validated(
    x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], l2: float, folds: int = 5
) -> np.ndarray[Any, Any]:
    order = list(range(len(y)))
    random.Random(7).shuffle(order)
    out = np.zeros(len(y))
    for k in range(folds):
        test = [i for n, i in enumerate(order) if n % folds == k]
        train = [i for n, i in enumerate(order) if n % folds != k]
        out[test] = predict(x[test], fit(x[train], y[train], l2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", default=str(ROOT / "var" / "bench-answers" / "dev.jsonl"))
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--write", action="store_true", help="Write ai/agent/resolve_model.json.")
    args = parser.parse_args()
    x, y = rows(Path(args.lines))
    w = fit(x, y, args.l2)
    p_in = predict(x, w)
    p_cv = cross_validated(x, y, args.l2)
    ece_in = ece(zip(p_in.tolist(), y.astype(bool).tolist(), strict=True))
    ece_cv = ece(zip(p_cv.tolist(), y.astype(bool).tolist(), strict=True))
    prec_in, sent_in = precision_at(p_in, y, DEFAULT_THRESHOLD)
    prec_cv, sent_cv = precision_at(p_cv, y, DEFAULT_THRESHOLD)
    for name, weight in zip(FEATURES, w[:-1], strict=True):
        print(f"  {name:12s} {weight:+.3f}")
    print(f"  {'bias':12s} {w[-1]:+.3f}")
    print(f"tickets {len(y)}, resolving {int(y.sum())}; ECE in-sample {ece_in}, 5-fold {ece_cv}")
    print(f"at {DEFAULT_THRESHOLD}: precision in-sample {prec_in:.3f} ({sent_in}), 5-fold {prec_cv:.3f} ({sent_cv})")
    model = {
        "bias": round(float(w[-1]), 4),
        "weights": {k: round(float(v), 4) for k, v in zip(FEATURES, w[:-1], strict=True)},
        "fitted_on": f"bench/answers dev split ({len(y)} tickets, l2 {args.l2})",
        "ece": ece_in,
        "ece_cross_validated": ece_cv,
    }
    if args.write:
        MODEL_PATH.write_text(json.dumps(model, indent=2) + "\n")
        print(f"wrote {MODEL_PATH}")
    print(json.dumps({"tickets": len(y), "ece": ece_in, "ece_cv": ece_cv, "precision_cv": prec_cv, "sent_cv": sent_cv}))


if __name__ == "__main__":
    main()

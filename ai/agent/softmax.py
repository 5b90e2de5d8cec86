"""Multinomial logistic regression in numpy (scikit-learn is not a dependency).

Full-batch gradient descent with Adam and L2 on unit-length sentence embeddings; a
temperature fitted on held-out folds makes the probabilities honest (calibrated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]


def _softmax(z: Array) -> Array:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: Array = e / e.sum(axis=1, keepdims=True)
    return out


@dataclass
class SoftmaxModel:
    labels: list[str]
    weights: Array  # (d, k)
    bias: Array  # (k,)
    temperature: float = 1.0

    def logits(self, x: Array) -> Array:
        out: Array = np.asarray(x, dtype=np.float64) @ self.weights + self.bias
        return out

    def predict_proba(self, x: Array) -> Array:
        return _softmax(self.logits(x) / self.temperature)

    def to_arrays(self) -> dict[str, Any]:
        return {
            "labels": np.array(self.labels),
            "weights": self.weights,
            "bias": self.bias,
            "temperature": np.array([self.temperature]),
        }

    @classmethod
    def from_arrays(cls, data: Any) -> SoftmaxModel:
        return cls(
            labels=[str(x) for x in data["labels"]],
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=np.asarray(data["bias"], dtype=np.float64),
            temperature=float(data["temperature"][0]),
        )


def fit(
    x: Array, y: list[str], *, l2: float = 1e-4, epochs: int = 300, lr: float = 0.05, scale: float = 1.0
) -> SoftmaxModel:
    labels = sorted(set(y))
    index = {label: i for i, label in enumerate(labels)}
    xs = np.asarray(x, dtype=np.float64) * scale
    n, d = xs.shape
    k = len(labels)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), [index[label] for label in y]] = 1.0
    w = np.zeros((d, k))
    b = np.zeros(k)
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, epochs + 1):
        p = _softmax(xs @ w + b)
        g = (p - onehot) / n
        gw = xs.T @ g + l2 * w
        gb = g.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * gw
        v_w = beta2 * v_w + (1 - beta2) * gw * gw
        m_b = beta1 * m_b + (1 - beta1) * gb
        v_b = beta2 * v_b + (1 - beta2) * gb * gb
        w -= lr * (m_w / (1 - beta1**t)) / (np.sqrt(v_w / (1 - beta2**t)) + eps)
        b -= lr * (m_b / (1 - beta1**t)) / (np.sqrt(v_b / (1 - beta2**t)) + eps)
    return SoftmaxModel(labels=labels, weights=w * scale, bias=b)


def fit_temperature(logits: Array, y_idx: np.ndarray[Any, Any]) -> float:
    """The temperature minimising held-out negative log-likelihood (grid search)."""
    best_t, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.25), np.log(8.0), 41)):
        p = _softmax(logits / t)
        nll = -float(np.mean(np.log(np.clip(p[np.arange(len(y_idx)), y_idx], 1e-12, None))))
        if nll < best_nll:
            best_t, best_nll = float(t), nll
    return best_t


def fit_calibrated(x: Array, y: list[str], *, folds: int = 4, seed: int = 7, **kwargs: Any) -> SoftmaxModel:
    """Fit on everything; fit the temperature on out-of-fold logits."""
    model = fit(x, y, **kwargs)
    n = len(y)
    if n < folds * 4:
        return model
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    index = {label: i for i, label in enumerate(model.labels)}
    held_logits = np.zeros((n, len(model.labels)))
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        sub = fit(x[train], [y[i] for i in train], **kwargs)
        sub_logits = sub.logits(x[test])
        # A fold may miss a rare label: map its columns back to the full label set.
        full = np.full((len(test), len(model.labels)), -1e3)
        for j, label in enumerate(sub.labels):
            full[:, index[label]] = sub_logits[:, j]
        held_logits[test] = full
    model.temperature = fit_temperature(held_logits, np.array([index[label] for label in y]))
    return model


def macro_f1(y_true: list[str], y_pred: list[str]) -> float:
    labels = sorted(set(y_true))
    scores = []
    for label in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == label and p == label)
        fp = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t != label and p == label)
        fn = sum(1 for t, p in zip(y_true, y_pred, strict=True) if t == label and p != label)
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores)) if scores else 0.0

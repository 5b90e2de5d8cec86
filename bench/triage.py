"""Triage benchmark on banking77: the local classifier (softmax regression on MiniLM embeddings).

Trains on train.csv, reports accuracy and macro-F1 on test.csv; no database. Run with
`make bench-triage`; the last line of output is JSON {"accuracy", "macro_f1", ...}.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BANKING77", str(ROOT.parent / "shared" / "data" / "banking77")))
sys.path.insert(0, str(ROOT))


def load(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def main() -> None:
    import numpy as np

    from ai.agent import softmax
    from ai.providers.local import LocalEmbeddingProvider

    train_x, train_y = load(DATA / "train.csv")
    test_x, test_y = load(DATA / "test.csv")
    embedder = LocalEmbeddingProvider()
    t0 = time.perf_counter()
    xa = embedder.embed_array(train_x).astype(np.float64)
    xb = embedder.embed_array(test_x).astype(np.float64)
    embed_s = time.perf_counter() - t0
    print(f"embedded {len(train_x) + len(test_x)} sentences in {embed_s:.1f} s", flush=True)
    t1 = time.perf_counter()
    model = softmax.fit(xa, train_y, l2=1e-5, epochs=400, lr=0.05, scale=4.0)
    train_s = time.perf_counter() - t1
    probs = model.predict_proba(xb)
    pred = [model.labels[i] for i in probs.argmax(axis=1)]
    accuracy = float(np.mean([p == t for p, t in zip(pred, test_y, strict=True)]))
    f1 = softmax.macro_f1(test_y, pred)
    print(f"trained in {train_s:.1f} s; accuracy {accuracy:.4f}, macro-F1 {f1:.4f}", flush=True)
    print(
        json.dumps(
            {
                "accuracy": round(accuracy, 4),
                "macro_f1": round(f1, 4),
                "train": len(train_x),
                "test": len(test_x),
                "labels": len(model.labels),
                "embed_s": round(embed_s, 1),
                "train_s": round(train_s, 1),
                "sentences_per_s": round((len(train_x) + len(test_x)) / embed_s),
            }
        )
    )


if __name__ == "__main__":
    main()

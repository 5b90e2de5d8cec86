"""Triage: ticket type (classifier + forcing rules), language, sentiment, sensitive data.

The type classifier is a softmax regression on all-MiniLM-L6-v2 embeddings of the seed
examples (ai.agent.seed_examples) plus, once `manage.py train_triage` ran, the workspace's
own resolved tickets. Rules run first: a legal threat, a chargeback, a data-protection
request, an ask for a human (ai.agent.asks), a request outside the written policy, or a
card number is never left to a statistical guess.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from ai.agent import asks as A
from ai.agent import softmax
from ai.agent.language import detect_language
from ai.agent.lexicon import TROUBLE_RE
from ai.agent.seed_examples import SEED_EXAMPLES
from ai.agent.sentiment import sentiment
from ai.agent.when import fold
from ai.providers.local import MODEL_SHA256, LocalEmbeddingProvider
from audit.redaction import CARD, CREDENTIAL, HEALTH, IBAN, NATIONAL_ID, redact

# (type, pattern, reason) in priority order; the first match forces the type.
RULES: list[tuple[str, re.Pattern[str], str]] = [
    (
        "legal",
        re.compile(
            r"(?i)\b(lawyer|attorney|solicitor|lawsuit|sue\b|suing|legal action|small claims|court|liable|"
            r"abogado|demanda|avocat|tribunal|anwalt|rechtliche schritte|klage)"
        ),
        "legal threat",
    ),
    (
        "legal",
        re.compile(
            r"(?i)\b(chargeback|charge ?back|disputed? (the|this|a)? ?(charge|transaction|payment)|"
            r"opened a dispute|dispute with (my|the) (bank|card))"
        ),
        "chargeback",
    ),
    (
        "legal",
        re.compile(
            r"(?i)\b(gdpr|rgpd|dsgvo|ccpa|data protection|right to be forgotten|subject access request|"
            r"(delete|erase|remove) (all )?(of )?my (personal )?data|copy of (all )?(the )?(my )?(personal )?data|"
            r"datos personales|données personnelles|meiner daten)"
        ),
        "data-protection request",
    ),
]
# Anything that asks the model to drop its rules, reveal itself, or skip the identity check.
INJECTION_RE = re.compile(
    r"(?i)(ignore (all |any |your |the |previous |prior |this )*(instructions|rules|policy|question|message|above)|"
    r"<!--[^>]{0,400}\b(?:ai|assistant|bot|model|gpt|llm)\b|\b(?:ai|assistant|bot)\s*:\s*(?:ignore|approve|grant|refund)|"
    r"approve\s+(?:a\s+)?\d{1,3}\s?%\s+(?:discount|refund)|"
    # The same asks in the other languages customers write in.
    r"(?:olvida|ignora|olvide|ignore)\s+(?:tus|las|sus|todas\s+las)\s+(?:\w+\s+)?(?:instrucciones|reglas)|"
    r"sin\s+restricciones|(?:oublie|oubliez|ignore|ignorez)\s+(?:tes|vos|les|toutes\s+les)\s+(?:\w+\s+)?"
    r"(?:instructions|consignes|regles|règles)|sans\s+restrictions?|(?:vergiss|vergessen\s+sie|ignoriere|ignorieren\s+sie)"
    r"\s+(?:deine|ihre|alle|die)\s+(?:\w+\s+)?(?:anweisungen|regeln|instruktionen)|ohne\s+einschränkungen|"
    r"(?:dimentica|ignora)\s+(?:le\s+)?(?:tue|sue|tutte\s+le)?\s*(?:\w+\s+)?(?:istruzioni|regole)|"
    r"senza\s+restrizioni|(?:esqueca|esqueça|ignore)\s+(?:as\s+)?(?:suas\s+)?(?:\w+\s+)?(?:instrucoes|instruções|regras)|"
    r"eres\s+un\s+asistente|tu\s+es\s+(?:un|maintenant)|du\s+bist\s+(?:jetzt|ein)|"
    r"disregard (all |your |the |previous )*(instructions|rules)|system prompt|developer message|"
    r"(reveal|print|show|repeat) (me )?(your|the) (prompt|instructions|tools?|keys?|secrets?)|"
    r"\btool keys?\b|api keys?|you are now|act as (an? )?(admin|administrator|developer)|"
    r"(customer|user|i) (is|am) (already )?(verified|authenticated|an admin)|jailbreak)"
)
SENSITIVE_KINDS = (CARD, NATIONAL_ID, IBAN, HEALTH, CREDENTIAL)


@dataclass
class Triage:
    ticket_type: str
    type_confidence: float
    language: str
    sentiment: str
    sentiment_score: float
    sensitive: list[str]
    redacted_text: str
    rule: str = ""
    injection: bool = False
    scores: dict[str, float] = field(default_factory=dict)
    asks: list[A.Ask] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket_type": self.ticket_type,
            "type_confidence": round(self.type_confidence, 4),
            "language": self.language,
            "sentiment": self.sentiment,
            "sentiment_score": self.sentiment_score,
            "sensitive": self.sensitive,
            "rule": self.rule,
            "injection": self.injection,
            "scores": {k: round(v, 4) for k, v in sorted(self.scores.items(), key=lambda kv: -kv[1])[:4]},
            "asks": [a.as_json() for a in self.asks],
        }

    @property
    def margin(self) -> float:
        """How far the classifier's pick leads the runner-up (1.0 when a rule decided)."""
        if not self.scores:
            return 1.0
        top = sorted(self.scores.values(), reverse=True)
        return round(top[0] - (top[1] if len(top) > 1 else 0.0), 4)


_embedder = LocalEmbeddingProvider()
_lock = threading.Lock()
_workspace_models: dict[int, tuple[float, softmax.SoftmaxModel]] = {}


def embed(texts: list[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    return _embedder.embed_array(texts)


def model_dir() -> Path:
    return Path(os.getenv("OASIS_TRIAGE_DIR", "") or settings.BASE_DIR / "var" / "triage")


def model_path(workspace_id: int) -> Path:
    return model_dir() / f"workspace-{workspace_id}.npz"


def training_examples() -> tuple[list[str], list[str]]:
    texts = [t for examples in SEED_EXAMPLES.values() for t in examples]
    labels = [label for label, examples in SEED_EXAMPLES.items() for _ in examples]
    return texts, labels


@functools.cache
def seed_model() -> softmax.SoftmaxModel:
    """The classifier on the seed examples alone. Training takes ~1 s on an idle box and far more
    on a busy one, which a worker's first ticket would pay inside its time budget; so it is trained
    once per machine and saved under a name that changes with anything the result depends on."""
    texts, labels = training_examples()
    inputs = [MODEL_SHA256, TRAIN_KWARGS, texts, labels, Path(softmax.__file__).read_text()]
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:20]
    path = model_dir() / f"seed-{key}.npz"
    try:
        with np.load(path) as data:
            return softmax.SoftmaxModel.from_arrays(data)
    except (OSError, ValueError, KeyError):
        pass  # not trained on this machine yet (or an unreadable file): train and save it
    model = softmax.fit_calibrated(embed(texts).astype(np.float64), labels, **TRAIN_KWARGS)
    _save(model, path)
    return model


def _save(model: softmax.SoftmaxModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own per writer, then an atomic rename: a worker never reads half a file,
    # and two workers saving at once never write into the same temporary file.
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
    np.savez(tmp, **model.to_arrays())
    tmp.replace(path)


TRAIN_KWARGS: dict[str, Any] = {"l2": 1e-4, "epochs": 250, "lr": 0.05, "scale": 4.0}


def model_for(workspace_id: int | None) -> softmax.SoftmaxModel:
    """The workspace's trained model when `train_triage` wrote one, else the seed model."""
    if workspace_id is not None:
        path = model_path(workspace_id)
        if path.is_file():
            mtime = path.stat().st_mtime
            with _lock:
                cached = _workspace_models.get(workspace_id)
                if cached is None or cached[0] != mtime:
                    with np.load(path) as data:
                        cached = (mtime, softmax.SoftmaxModel.from_arrays(data))
                    _workspace_models[workspace_id] = cached
            return cached[1]
    return seed_model()


def train_workspace_model(*, workspace_id: int, extra: list[tuple[str, str]]) -> tuple[Path, int]:
    """Seeds + (text, type) pairs of the workspace's resolved tickets -> the saved model file."""
    texts, labels = training_examples()
    texts = texts + [t for t, _ in extra]
    labels = labels + [label for _, label in extra]
    model = softmax.fit_calibrated(embed(texts).astype(np.float64), labels, **TRAIN_KWARGS)
    path = model_path(workspace_id)
    _save(model, path)
    return path, len(texts)


def classify(text: str, *, workspace_id: int | None = None) -> tuple[str, float, dict[str, float]]:
    model = model_for(workspace_id)
    from ai.agent.grounding import embed as embed_cached

    # Cached: retrieval support and drafting embed the same text again.
    probs = model.predict_proba(embed_cached([text]).astype(np.float64))[0]
    scores = {label: float(p) for label, p in zip(model.labels, probs, strict=True)}
    best = max(scores, key=lambda label: scores[label])
    return best, scores[best], scores


# A classifier pick of one of these stands against an action ask: "the staff were rude when I
# returned a shirt" is a complaint, not a refund. Below this probability the asks decide.
HUMAN_PICK_STANDS = 0.6
# Except a policy-exception pick against an order action: the planner checks that ask against the
# written policy and the order's data ("can I still cancel?" is allowed until it ships), and a
# forbidden one becomes a policy exception there. Words alone do not make the exception.
DATA_CHECKED = frozenset({A.CANCEL, A.CHANGE_ADDRESS})


def _type_from(
    asks: list[A.Ask], label: str, confidence: float, scores: dict[str, float], *, trouble: bool = False
) -> tuple[str, float]:
    """The classifier's pick, reconciled with what the customer asks for (and whether they report
    something that went wrong)."""
    intents = {a.intent for a in asks}
    if intents == {A.THANKS}:
        return "other", max(confidence, scores.get("other", 0.0), 0.9)
    asked = A.primary_type(asks)
    if not intents - {A.QUESTION, A.OTHER, A.THANKS}:
        # Questions only: what they are about is the classifier's call, but a weak guess that a
        # person is needed ("what are your phone support hours?" as a complaint at 0.3) does not
        # take a question away from the help center: it is answered from it, or goes to a person.
        if label in HUMAN_NEEDED and confidence < HUMAN_PICK_STANDS and A.QUESTION in intents and not trouble:
            return "product_question", max(scores.get("product_question", 0.0), confidence)
        return label, confidence
    data_checked = label == "policy_exception" and intents & DATA_CHECKED
    if label in HUMAN_NEEDED and confidence >= HUMAN_PICK_STANDS and not data_checked:
        return label, confidence
    if label == asked:
        return label, confidence
    return asked, max(scores.get(asked, 0.0), 0.6)


HUMAN_NEEDED = frozenset({"troubleshooting", "policy_exception", "sensitive_data", "legal", "complaint"})


def triage(
    text: str,
    *,
    workspace_id: int | None = None,
    allowed_types: set[str] | None = None,
    customer_email: str = "",
    now: dt.datetime | None = None,
) -> Triage:
    """Type, language, sentiment, sensitive data and the asks of one customer message (plus subject)."""
    redaction = redact(text)
    language = detect_language(text)
    label, score = sentiment(text)
    injection = bool(INJECTION_RE.search(text))
    asks = A.extract_asks(redaction.text, language=language, customer_email=customer_email, now=now)
    intents = {a.intent for a in asks}
    rule = ""
    ticket_type = ""
    confidence = 1.0
    scores: dict[str, float] = {}
    for rule_type, pattern, reason in RULES:
        if pattern.search(text):
            ticket_type, rule = rule_type, reason
            break
    if not ticket_type and A.HUMAN in intents:
        ticket_type, rule = "complaint", "asks for a human"
    if not ticket_type and A.OUTSIDE_POLICY in intents:
        ticket_type, rule = "policy_exception", "outside written policy"
    if not ticket_type and any(kind in redaction.kinds for kind in SENSITIVE_KINDS):
        ticket_type, rule = "sensitive_data", "sensitive data: " + ", ".join(redaction.kinds)
    if not ticket_type:
        # The classifier sees the redacted text only, like every model.
        picked, picked_confidence, scores = classify(redaction.text, workspace_id=workspace_id)
        if picked == "sensitive_data":
            # Sensitive data is what redaction finds (a card, an id, a credential), never a guess
            # from the words around it: with nothing found, the classifier's next pick stands.
            picked = max((k for k in scores if k != "sensitive_data"), key=lambda k: scores[k])
            picked_confidence = scores[picked]
        trouble = bool(TROUBLE_RE.search(fold(redaction.text)))
        ticket_type, confidence = _type_from(asks, picked, picked_confidence, scores, trouble=trouble)
        if allowed_types is not None and ticket_type not in allowed_types:
            ticket_type = "other"
    return Triage(
        ticket_type=ticket_type,
        type_confidence=confidence,
        language=language,
        sentiment=label,
        sentiment_score=score,
        sensitive=redaction.kinds,
        redacted_text=redaction.text,
        rule=rule,
        injection=injection,
        scores=scores,
        asks=asks,
    )

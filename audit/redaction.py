"""Sensitive data: find it, and redact it from anything sent to a model or written to logs.

The original text stays only in the ticket's Message; AgentRun.redacted_input, the audit
data and every provider request carry the redacted text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CARD = "card"
NATIONAL_ID = "national_id"
IBAN = "iban"
HEALTH = "health"
CREDENTIAL = "credential"

_LABELS = {
    CARD: "[REDACTED CARD]",
    NATIONAL_ID: "[REDACTED ID]",
    IBAN: "[REDACTED IBAN]",
    HEALTH: "[REDACTED HEALTH]",
    CREDENTIAL: "[REDACTED CREDENTIAL]",
}

# 13-19 digits, optionally grouped by spaces or dashes (how people type card numbers).
_CARD_RE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
# US SSN (area 000/666/9xx never issued), UK NINO, Spanish DNI/NIE.
_SSN_RE = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_NINO_RE = re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
_DNI_RE = re.compile(r"\b[XYZ]?\d{7,8}-?[A-HJ-NP-TV-Z]\b")
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
_CREDENTIAL_RES = [
    # "password: hunter2", "my pwd is x", "contraseña: ...", "mot de passe : ...", "Passwort ist ..."
    re.compile(
        r"(?i)\b(?:password|passwd|pwd|passcode|pin|contraseña|contrasena|mot de passe|passwort|kennwort)"
        r"\b(?:\s+(?:is|es|est|ist)\s+|\s*[:=]\s*)"
        r"(?!(?:not|wrong|incorrect|invalid|expired|working|correct|reset|missing|locked|no|lost|forgotten|right|fine|"
        r"ok|okay|the\s+same|too|still|definitely|definitively|definitely|surely|probably|falsch|richtig|korrekt|"
        r"correcto|incorrecto|bueno|bon|juste|faux)\b)(\S{3,})"
    ),
    re.compile(r"(?i)\b(?:api[ _-]?key|secret|token|access[ _-]?key)\b(?:\s+is)?\s*[:=]?\s*([A-Za-z0-9_\-\.]{12,})"),
    re.compile(r"\b(sk-[A-Za-z0-9_\-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[bap]-[A-Za-z0-9-]{10,})\b"),
]
_HEALTH_RE = re.compile(
    r"(?i)\b(?:diagnos(?:is|ed)|hiv|aids|diabetes|diabetic|cancer|chemotherapy|pregnan(?:t|cy)|depression|"
    r"anxiety disorder|medication|prescription|epilep(?:sy|tic)|asthma|covid|disability|therapy|"
    r"psychiatric|embarazada|diabetes|cáncer|enceinte|maladie|schwanger|krankheit|diagnose)\b"
)


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def dni_valid(candidate: str) -> bool:
    """Spanish DNI/NIE: the letter is the number mod 23 (so order numbers rarely match)."""
    compact = candidate.replace("-", "").upper()
    prefix = {"X": "0", "Y": "1", "Z": "2"}.get(compact[0], compact[0])
    digits = prefix + compact[1:-1]
    if not digits.isdigit():
        return False
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(digits) % 23] == compact[-1]


@dataclass
class Redaction:
    text: str
    kinds: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.kinds)


def redact(text: str) -> Redaction:
    """The text with every sensitive finding replaced by a label like "[REDACTED CARD]"."""
    counts: dict[str, int] = {}
    spans: list[tuple[int, int, str]] = []

    def add(start: int, end: int, kind: str) -> None:
        if any(s < end and start < e for s, e, _ in spans):
            return
        spans.append((start, end, kind))
        counts[kind] = counts.get(kind, 0) + 1

    for m in _IBAN_RE.finditer(text):
        if iban_valid(m.group(0)):
            add(m.start(), m.end(), IBAN)
    for m in _CARD_RE.finditer(text):
        if luhn_valid(re.sub(r"[ -]", "", m.group(0))):
            add(m.start(), m.end(), CARD)
    for regex in (_SSN_RE, _NINO_RE):
        for m in regex.finditer(text):
            add(m.start(), m.end(), NATIONAL_ID)
    for m in _DNI_RE.finditer(text):
        if dni_valid(m.group(0)):
            add(m.start(), m.end(), NATIONAL_ID)
    for regex in _CREDENTIAL_RES:
        for m in regex.finditer(text):
            add(m.start(1), m.end(1), CREDENTIAL)
    for m in _HEALTH_RE.finditer(text):
        add(m.start(), m.end(), HEALTH)
    out = text
    for start, end, kind in sorted(spans, reverse=True):
        out = out[:start] + _LABELS[kind] + out[end:]
    return Redaction(text=out, kinds=sorted(counts), counts=counts)


def redact_text(text: str) -> str:
    return redact(text).text

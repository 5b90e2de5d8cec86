"""Does the customer ask for a person? Then they get one at once, not another bot answer."""

from __future__ import annotations

import re
import unicodedata

# Short, explicit asks in the languages the demo serves. Whole-message shortcuts ("agent",
# "human") only count when the message is that short; longer texts need a phrase.
_PHRASES = re.compile(
    r"\b("
    r"(talk|speak|chat)\s+(to|with)\s+(a|an|the|your|some)?\s*(real\s+|live\s+)?(human|person|agent|someone|manager|"
    r"representative|operator|people)"
    r"|(real|live|actual)\s+(human|person|agent)"
    r"|human\s+(agent|being|please)|agent\s+please|person\s+please|representative\s+please"
    r"|(get|give)\s+me\s+(a\s+)?(human|person|agent)|not\s+a\s+bot|stop\s+the\s+bot|no\s+more\s+bot"
    r"|hablar\s+con\s+(una?\s+)?(persona|humano|agente|alguien)|una\s+persona\s+real"
    r"|parler\s+(a|avec)\s+(un|une|quelqu\s*un)\s*(humain|personne|conseiller|conseillere|agent)?"
    r"|(un|une)\s+(vrai|vraie)\s+(humain|personne)|conseiller\s+humain"
    r"|mit\s+(einem|einer)\s+(menschen|mitarbeiter|mitarbeiterin|person)\s+sprechen|echten\s+menschen"
    r")\b",
    re.IGNORECASE,
)
_SHORT = {
    "human",
    "a human",
    "agent",
    "an agent",
    "person",
    "a person",
    "operator",
    "representative",
    "persona",
    "humano",
    "humain",
    "un humain",
    "mensch",
    "help me human",
}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def human_requested(text: str) -> bool:
    folded = _fold(text or "").replace("'", " ").replace("\u2019", " ")
    short = re.sub(r"[^a-z ]+", " ", folded)
    short = " ".join(short.split())
    if short in _SHORT or short.removesuffix(" please") in _SHORT or short.removeprefix("please ") in _SHORT:
        return True
    return bool(_PHRASES.search(folded))

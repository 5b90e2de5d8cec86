"""Phrasings the triage rules and the local planner both read: an explicit ask for a person, and
requests the written shop policy cannot grant (so a person must decide). Plain regexes, no
Django imports, so both sides share one definition."""

from __future__ import annotations

import re

# "transfer me to a human", "I want a human agent", "let me talk to your manager", "representative".
HUMAN_ASK_RE = re.compile(
    r"(?i)\b(?:(?:speak|talk|let me talk|put me through|connect me|transfer me|hand me over)\s+(?:to|with)\s+"
    r"(?:a|an|your|the|some)?\s*(?:manager|supervisor|human|real person|person|representative|agent)|"
    r"(?:real|actual)\s+(?:human|person)|human\s+(?:representative|agent|being|support)|"
    r"transfer\s+(?:me\s+|this\s+|it\s+)?to\s+(?:a\s+)?(?:human|person|manager|supervisor|representative)|"
    r"not a bot|get (?:me )?a human|escalate (?:this|it) to|"
    r"hablar con un (?:responsable|humano|gerente)|parler à un (?:responsable|humain)|"
    r"mit einem (?:vorgesetzten|menschen))"
)
# A clause that makes the ask a fallback ("if you cannot help, transfer me to a human"): the
# customer wants the request handled first, so the ask alone does not hand the ticket over.
_FALLBACK_RE = re.compile(
    r"(?i)\b(?:if|unless|in case|otherwise|or else)\b[^.!?\n]{0,80}"
    r"\b(?:cannot|can't|can not|unable|not able|not possible|doesn't work|does not work|fails?)\b[^.!?\n]{0,60}$"
)
# Requests outside the written policy: reinstating a cancelled order, refunding to a payment
# method other than the original one, paying one order with several cards.
OUTSIDE_POLICY_RE = re.compile(
    r"(?i)\b(?:undo\s+(?:the\s+|my\s+)?cancel\w*|(?:reinstate|restore|reopen|revive)\s+(?:a\s+|my\s+|the\s+)?"
    r"cancel+ed\s+order|un-?cancel|"
    r"refund\w*\s+[^.!?\n]{0,50}\b(?:to|into|onto|on)\s+(?:the\s+other|another|a\s+different|someone\s+else's)\s+"
    r"[^.!?\n]{0,20}(?:payment|card|account|method))"
)


def asks_for_human(text: str) -> bool:
    """An explicit, unconditional ask for a person (a fallback "if you can't, ..." is not)."""
    for match in HUMAN_ASK_RE.finditer(text):
        before = text[max(0, match.start() - 160) : match.start()]
        clause = re.split(r"[.!?\n]", before)[-1]
        if not _FALLBACK_RE.search(clause):
            return True
    return False


def outside_policy(text: str) -> bool:
    return bool(OUTSIDE_POLICY_RE.search(text))

"""Phrasings the triage rules and the local planner both read: an explicit ask for a person,
requests no support action can carry out (so a person must decide), and the conditions and
fallbacks customers wrap requests in ("if that is not possible, just cancel it"). Plain regexes, no
Django imports, so both sides share one definition.

What the Agent can do for a shop customer is bounded: look orders up, cancel or change an order
not yet shipped, return or exchange a delivered one, change an address. A request for anything
else (reversing a cancellation, money without a return: compensation, a price match, a refund
for an item lost after delivery; a refund to a payment method other than the original one)
cannot be handled within those actions, so it goes to a person, unless the customer already said
what in-policy alternative they accept instead.
"""

from __future__ import annotations

import re

# "transfer me to a human", "I want a human agent", "let me talk to your manager", "representative".
HUMAN_ASK_RE = re.compile(
    r"(?i)\b(?:(?:speak|talk|let me talk|put me through|connect me|transfer me|hand me over)\s+(?:to|with)\s+"
    r"(?:a|an|your|the|some)?\s*(?:manager|supervisor|human|real person|person|representative|agent)|"
    r"(?:real|actual)\s+(?:human|person)|human\s+(?:representative|agent|being|support)|"
    r"transfer\s+(?:me\s+|this\s+|it\s+)?to\s+(?:a\s+)?(?:human|person|manager|supervisor|representative)|"
    r"not a bot|get (?:me )?a human|escalate (?:this|it) to|"
    r"ask(?:s|ing)?\s+(?:for|to\s+(?:speak|talk)\s+(?:to|with))\s+(?:a|an|the|your|some)?\s*"
    r"(?:manager|supervisor|human|person|representative|someone\s+in\s+charge)|"
    r"hablar con un (?:responsable|humano|gerente)|parler à un (?:responsable|humain)|"
    r"mit einem (?:vorgesetzten|menschen))"
)
# A clause that makes the ask a fallback ("if you cannot help, transfer me to a human"): the
# customer wants the request handled first, so the ask alone does not hand the ticket over.
_FALLBACK_RE = re.compile(
    r"(?i)\b(?:if|unless|in case|otherwise|or else)\b[^.!?\n]{0,80}"
    r"\b(?:cannot|can't|can not|unable|not able|not possible|doesn't work|does not work|fails?)\b[^.!?\n]{0,60}$"
)
# Requests no action can carry out: reinstating a cancelled order, refunding to a payment method
# other than the original one, money without a return (compensation, price match, a refund for
# an item the customer lost).
OUTSIDE_POLICY_RE = re.compile(
    r"(?i)\b(?:undo\s+(?:the\s+|my\s+)?cancel\w*|(?:reinstate|restore|reopen|revive)\s+(?:a\s+|my\s+|the\s+)?"
    r"cancel+ed\s+order|un-?cancel|"
    r"refund\w*\s+[^.!?\n]{0,50}\b(?:to|into|onto|on)\s+(?:the\s+other|another|a\s+different|someone\s+else's)\s+"
    r"[^.!?\n]{0,20}(?:payment|card|account|method)|"
    r"compensat\w+|price\s+(?:match|adjustment|protection)|"
    r"(?:lost|stole|stolen)\b[^.!?\n]{0,80}\b(?:refund|reorder|replace|reimburse|money\s+back)\w*)"
)
# An "if" clause states a condition, not a request ("if the tablet is returned, cancel the
# charger"), unless it is an embedded question ("see if it can be cancelled").
CONDITION_RE = re.compile(
    r"(?i)(?<!\bsee )(?<!\bcheck )(?<!\bask )(?<!\bwonder )(?<!\bknow )(?<!\bsure )"
    r"\b(?:if|unless|in case|once)\b[^,.;!?\n]*"
)
# A condition that the request before it failed: what follows is a fallback.
FAILED_RE = re.compile(
    r"(?i)^(?:if\s+not\b|unless\b|in case\b)|\b(?:not|n't|cannot|can\s+not|unable|impossible|no\s+way|"
    r"issues?|problems?|fails?|denied|refused)\b"
)
FALLBACK_LEAD_RE = re.compile(r"(?i)\b(?:otherwise|or else|failing that|if not)\b")
IN_SCOPE_RE = re.compile(r"(?i)\b(?:return\w*|refund\w*|cancel\w*|exchange\w*|modify|change|swap|keep)\b")


def conditions(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, failed) of each condition clause: `failed` when it is about the request
    before it not working out ("if that is not possible", "if there are any issues")."""
    found = []
    for match in CONDITION_RE.finditer(text):
        clause = match.group(0)
        found.append((match.start(), match.end(), bool(FAILED_RE.search(clause))))
    return found


def fallback_starts(text: str) -> list[int]:
    """Where a fallback begins: after a failed condition, or at "otherwise" / "if not"."""
    starts = [end for _, end, failed in conditions(text) if failed]
    starts += [m.end() for m in FALLBACK_LEAD_RE.finditer(text)]
    return sorted(set(starts))


def asks_for_human(text: str) -> bool:
    """An explicit, unconditional ask for a person (a fallback "if you can't, ..." is not)."""
    for match in HUMAN_ASK_RE.finditer(text):
        before = text[max(0, match.start() - 160) : match.start()]
        clause = re.split(r"[.!?\n]", before)[-1]
        if not _FALLBACK_RE.search(clause):
            return True
    return False


def asks_for_human_if_not_handled(text: str) -> bool:
    """A person asked for as the fallback ("if you cannot help, transfer me to a human"): the
    customer's own rule for when to hand over, which holds once the Agent finds it cannot act."""
    return any(True for _ in HUMAN_ASK_RE.finditer(text)) and not asks_for_human(text)


def outside_policy(text: str) -> bool:
    """A request no action can carry out, with no in-policy alternative the customer accepts
    after it ("..., if not possible, return everything to the original card" is handled)."""
    for match in OUTSIDE_POLICY_RE.finditer(text):
        if CONDITION_RE.search(_clause_around(text, match.start())):
            continue  # "if it was lost, ..." states a case, it asks for nothing
        later = [at for at in fallback_starts(text) if at > match.end()]
        if not later:
            return True
        alternative = text[later[0] : later[0] + 240]
        alternative = re.split(r"(?<=[.!?])\s", alternative)[0]
        if HUMAN_ASK_RE.search(alternative) or not IN_SCOPE_RE.search(alternative):
            return True
    return False


def _clause_around(text: str, at: int) -> str:
    start = max(text.rfind(sep, 0, at) for sep in ".!?,;\n")
    return text[start + 1 : at]

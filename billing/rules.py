"""Text rules of what counts as an outcome: greetings-only AI replies, customer confirmations.

Deliberately conservative: a reply that might carry an answer counts as substantive, and a
customer message counts as a confirmation only when it is short, says so, and asks nothing.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

GREETING_MAX_WORDS = 15
CONFIRMATION_MAX_WORDS = 25

# Greetings, thanks, sign-offs and the filler words around them.
_GREETING_TEXT = """
    hi hello hey hiya dear greetings good morning afternoon evening day thanks thank thx ty you your yours
    for the a an and to of in it its it's is are be we i i'm we're us our my me am so very much
    reaching out contacting writing message messages note getting touch welcome you're glad happy
    help helping pleasure assist regards best kind kindly warm cheers sincerely team support
    there all everyone again nice great wonderful lovely have has had hope hoping doing well
    bye goodbye take care soon talk later with this that from on at by
"""
_GREETING_WORDS = frozenset(_GREETING_TEXT.split())

_CONFIRMATION_PHRASES = re.compile(
    r"\b(solved|resolved|fixed|sorted|that worked|it worked|works now|working now|all good|all set|"
    r"got it|perfect|that helps|that helped|problem solved|you can close)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(not|no|never|still|isn't|isnt|doesn't|doesnt|didn't|didnt|won't|wont|can't|cant|cannot|"
    r"haven't|havent|hasn't|hasnt|but|however|although|problem is|again)\b",
    re.IGNORECASE,
)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def is_greeting_only(body: str) -> bool:
    """A short reply with nothing but greetings or thanks (one unknown word allowed: a name)."""
    tokens = words(body)
    if len(tokens) >= GREETING_MAX_WORDS:
        return False
    if any(ch.isdigit() for ch in body) or "http" in body.lower():
        return False
    substantive = [token for token in tokens if token not in _GREETING_WORDS]
    return len(substantive) <= 1


def is_confirmation(body: str) -> bool:
    """The customer says the problem is solved ("thanks, that worked!"), and nothing more."""
    if "?" in body or len(words(body)) > CONFIRMATION_MAX_WORDS:
        return False
    return bool(_CONFIRMATION_PHRASES.search(body)) and not _NEGATION.search(body)

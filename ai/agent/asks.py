"""The customer's asks, as data: what they want done or answered, with the details given.

One reading of a ticket's text serves triage (the type follows from the asks), the planner (each
ask maps to a tool), the draft (each ask gets its own answer), the confidence (an ask left open
means the reply does not resolve the ticket), the Copilot and both chat providers. It is also the
one place that decides whether the customer asked for a person: the chat handoff and the Agent
share it.

Plain regular expressions over accent-folded text (ai.agent.lexicon), so a reading is fast,
deterministic and the same in every process.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ai.agent import lexicon
from ai.agent.when import fold, parse_when

TRACK, REFUND, REFUND_STATUS, REPLACE, CANCEL = "track", "refund", "refund_status", "replace", "cancel"
CHANGE_ADDRESS, CHANGE_EMAIL, CHANGE_PHONE = "change_address", "change_email", "change_phone"
RESET_PASSWORD, BOOK, RESCHEDULE, CANCEL_APPOINTMENT = "reset_password", "book", "reschedule", "cancel_appointment"
QUESTION, THANKS, HUMAN, OUTSIDE_POLICY, OTHER = "question", "thanks", "human", "outside_policy", "other"

# Asks about one of the customer's orders: they need to know which one.
ORDER_INTENTS = frozenset({TRACK, REFUND, REFUND_STATUS, REPLACE, CANCEL, CHANGE_ADDRESS})
# What each ask needs done, and the ticket type it belongs to.
TOOL_FOR = {
    TRACK: "lookup_order",
    REFUND_STATUS: "lookup_order",
    REFUND: "issue_refund",
    REPLACE: "create_replacement",
    CANCEL: "cancel_order",
    CHANGE_ADDRESS: "update_shipping_address",
    CHANGE_EMAIL: "request_email_change",
    RESET_PASSWORD: "send_password_reset",
    BOOK: "book_appointment",
    RESCHEDULE: "book_appointment",
    HUMAN: "escalate_to_human",
}
TYPE_FOR = {
    TRACK: "order_status",
    CANCEL: "order_status",
    REFUND: "refund",
    REFUND_STATUS: "refund",
    REPLACE: "replacement",
    CHANGE_ADDRESS: "account_change",
    CHANGE_EMAIL: "account_change",
    CHANGE_PHONE: "account_change",
    RESET_PASSWORD: "password_reset",
    BOOK: "scheduling",
    RESCHEDULE: "scheduling",
    CANCEL_APPOINTMENT: "scheduling",
    QUESTION: "product_question",
    THANKS: "other",
    OTHER: "other",
    HUMAN: "complaint",
    OUTSIDE_POLICY: "policy_exception",
}

ORDER_RE = re.compile(r"(?<![\w@.])#?([A-Z]{1,4}-?\d{3,10})\b", re.IGNORECASE)
# "order 4521", "order no. 4521", "pedido #4521", "commande n° 4521", "Bestellung Nr. 4521"
ORDER_NUMBER_RE = re.compile(
    r"(?i)\b(?:order|pedido|commande|bestellung|ordine|encomenda)\s*(?:number|no\.?|nr\.?|n[°º]|num(?:ero)?|#)?"
    r"\s*[:#]?\s*(\d{4,10})\b"
)
AMOUNT_RE = re.compile(
    r"(?:[$€£]\s?(\d{1,9}(?:[.,]\d{1,2})?))|(?:\b(\d{1,9}(?:[.,]\d{1,2})?)\s?(?:usd|eur|gbp|dollars?|euros?|€|\$)(?!\w))",
    re.IGNORECASE,
)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
ADDRESS_LEAD_RE = re.compile(
    r"(?i)(?:new address(?: is)?|address(?:es)? (?:to|is)(?: be)?|(?:ship|deliver|send)(?: [\w#-]+){0,3}? to|"
    r"nueva direcci[oó]n(?: es)?|env[ií](?:a|en)(?:lo|la)? a|nouvelle adresse(?: est)?|"
    r"livrer (?:à|a)|neue (?:liefer)?adresse(?: ist)?|(?:an|nach) folgende adresse)\s*[:\-]?\s*"
    r"(\d[^\n]{8,300}?|[A-ZÄÖÜ][\w .'-]{2,60}\s\d{1,5}[^\n]{4,200}?)(?:\.\s|\.$|\n|$| instead\b| en su lugar\b| "
    r"à la place\b| stattdessen\b)"
)
# "600 W Broadway, Suite 1200, San Diego, CA 92101" / "Neubaugasse 12/4, 1070 Wien, Austria":
# a street with a number, then parts up to a postal code (what makes it an address at all).
POSTAL_ADDRESS_RE = re.compile(
    r"(\d{1,6}[A-Za-z]?\s+(?:(?:[A-Z][\w'.-]*|\d{1,3}(?:st|nd|rd|th))\s*){1,5}(?:,\s*[^,\n?!]{2,40}){0,3}?,?\s*"
    r"(?:[A-Z]{2}\s+)?"
    r"(?:\d{4,6}(?:-\d{4})?|[A-Z]\d[A-Z]\s?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2})(?:,\s*[A-Z][\w '-]{1,30})?)"
    # A street's further words are capitalised or particles ("Am Hang", "Via della Pace"): never "ist".
    r"|([A-ZÄÖÜ][\wäöüßéèà.'-]+(?:\s(?:[A-ZÄÖÜ][\wäöüßéèà.'-]*|an|am|auf|im|in|der|die|dem|den|des|zum|zur|de|del|"
    r"della|di|da|la|le|dos|das|von|vom)){0,3}\s\d{1,5}[a-z]?(?:/\d+)?,\s*(?:[A-Z]{1,2}-)?\d{4,5}\s"
    r"[A-ZÄÖÜ][\wäöüß'-]+(?:\s[A-ZÄÖÜ][\wäöüß'-]+)?(?:,\s*[A-Z][\w '-]{1,30})?)"
)
STREET_RE = re.compile(
    r"\b(\d{1,6}\s+(?:[A-Z][\w'.-]*\s+){1,4}(?:St|Street|Ave|Avenue|Rd|Road|Dr|Drive|Ln|Lane|Blvd|Boulevard|Way|"
    r"Ct|Court|Pl|Place|Highway|Hwy|Terrace|Parkway)\b\.?(?:,?\s*(?:Apt|Unit|Suite|#)\s*\w+)?(?:,\s*[^,.\n]{2,40}){0,4})"
)
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")
# An "if" clause states a condition ("if the tablet is returned, cancel the charger"), unless it is
# an embedded question ("see if it can be cancelled").
_CONDITION_RE = re.compile(
    r"(?<!\bsee )(?<!\bcheck )(?<!\bask )(?<!\bwonder )(?<!\bknow )(?<!\bsure )"
    r"\b(?:if|unless|in case|once|si|falls|wenn|se)\b[^,.;!?\n]*"
)
_FAILED_RE = re.compile(
    r"^(?:if\s+not\b|unless\b|in case\b|si\s+no\b|sinon\b)|\b(?:not|n't|cannot|can\s+not|unable|impossible|"
    r"no\s+way|issues?|problems?|fails?|denied|refused|no\s+es\s+posible|pas\s+possible|nicht\s+moglich)\b"
)
_FALLBACK_LEAD_RE = re.compile(r"\b(?:otherwise|or else|failing that|if not|si no|sinon|sonst|andernfalls)\b")
# Requests no action can carry out: reinstating a cancelled order, refunding to another payment
# method, money without a return (compensation, a price match, a refund for a lost item).
_OUTSIDE_POLICY_RE = re.compile(
    r"\b(?:undo\s+(?:the\s+|my\s+)?cancel\w*|(?:reinstate|restore|reopen|revive)\s+(?:a\s+|my\s+|the\s+)?"
    r"cancel+ed\s+order|un-?cancel|"
    r"refund\w*\s+[^.!?\n]{0,50}\b(?:to|into|onto|on)\s+(?:the\s+other|another|a\s+different|someone\s+else's)\s+"
    r"[^.!?\n]{0,20}(?:payment|card|account|method)|"
    r"(?:reembols\w*|devolver)\s+[^.!?\n]{0,50}\b(?:a|en)\s+(?:otra|la\s+de\s+mi|la\s+cuenta\s+de)\s+[^.!?\n]{0,20}"
    r"(?:tarjeta|cuenta)|rembours\w*\s+[^.!?\n]{0,50}\bsur\s+(?:une\s+autre|un\s+autre|le\s+compte\s+de|la\s+carte\s+de)|"
    r"(?:erstatt\w*|zuruck\w*)\s+[^.!?\n]{0,50}\bauf\s+(?:ein\s+anderes|eine\s+andere|das\s+konto\s+(?:meines|meiner))|"
    r"rimbors\w*\s+[^.!?\n]{0,50}\bsu\s+(?:un\s+altro|un'altra|il\s+conto\s+di)|"
    r"compensat\w+|price\s+(?:match|adjustment|protection)|indemnizaci\w+|dedommag\w+|entschadigung|"
    r"(?:make|making)\s+an?\s+exception|hacer\s+una\s+excepcion|faire\s+une\s+exception|(?:eine\s+)?ausnahme\s+machen|"
    r"fare\s+un'?\s?eccezione|abrir\s+uma\s+excecao|"
    r"(?:lost|stole|stolen)\b[^.!?\n]{0,80}\b(?:refund|reorder|replace|reimburse|money\s+back)\w*)"
)
_IN_SCOPE_RE = re.compile(r"\b(?:return\w*|refund\w*|cancel\w*|exchange\w*|modify|change|swap|keep)\b")
_TRIVIAL_QUESTION_RE = re.compile(
    r"^(?:can|could|would)\s+you\s+(?:please\s+)?(?:help|check|look|assist)\b[^?]{0,30}\??$|^(?:any\s+idea|thanks)\?*$|"
    r"^(?:is\s+that\s+possible|is\s+this\s+possible|possible|right|ok|okay)\?$|^(?:what|why|how)\?+$|"
    r"^(?:(?:me|nos)\s+ayuda[ns]?|es\s+posible|c'?est\s+possible|est-ce\s+possible|(?:pouvez|pourriez)-vous\s+"
    r"m'?\s?aider|ist\s+das\s+moglich|geht\s+das|(?:konnen|konnt|konnten)\s+(?:sie|ihr)\s+mir\s+helfen|"
    r"(?:mi\s+)?potete\s+aiutar(?:e|mi)|e\s+possibile|e\s+possivel|(?:podem|pode)\s+ajudar(?:-me)?|can\s+you\s+help(?:\s+me)?|"
    r"any\s+help|help|please\s+help)\??$"
)


@dataclass(frozen=True)
class Ask:
    """One thing the customer wants: `intent`, the details given (`slots`) and those missing."""

    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    fallback: bool = False  # asked only in case the ask before it cannot be done
    sentence: str = ""

    @property
    def tool(self) -> str:
        return TOOL_FOR.get(self.intent, "")

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"intent": self.intent, "slots": self.slots, "missing": list(self.missing)}
        if self.fallback:
            data["fallback"] = True
        return data


# --------------------------------------------------------------------------- people


def asks_for_human(text: str) -> bool:
    """An explicit, unconditional ask for a person ("if you can't help, transfer me" is not)."""
    folded = fold(text or "").replace("\u2019", "'")
    short = " ".join(re.sub(r"[^a-z ]+", " ", folded).split())
    if short in lexicon.HUMAN_SHORT or short.removesuffix(" please") in lexicon.HUMAN_SHORT:
        return True
    for match in lexicon.HUMAN_RE.finditer(folded):
        clause = re.split(r"[.!?\n]", folded[max(0, match.start() - 160) : match.start()])[-1]
        if not lexicon.FALLBACK_BEFORE_RE.search(clause):
            return True
    return False


def asks_for_human_if_not_handled(text: str) -> bool:
    """A person asked for as the fallback ("if you cannot help, transfer me to a human")."""
    return bool(lexicon.HUMAN_RE.search(fold(text or ""))) and not asks_for_human(text)


# ------------------------------------------------------------------ conditions


def conditions(text: str) -> list[tuple[int, int, bool]]:
    """(start, end, failed) of each condition clause: `failed` when it is about the request
    before it not working out ("if that is not possible", "if there are any issues")."""
    return [(m.start(), m.end(), bool(_FAILED_RE.search(m.group(0)))) for m in _CONDITION_RE.finditer(text)]


def fallback_starts(text: str) -> list[int]:
    """Where a fallback begins: after a failed condition, or at "otherwise" / "if not"."""
    starts = [end for _, end, failed in conditions(text) if failed]
    starts += [m.end() for m in _FALLBACK_LEAD_RE.finditer(text)]
    return sorted(set(starts))


def outside_policy(text: str) -> bool:
    """A request no action can carry out, with no in-policy alternative the customer accepts
    after it ("..., if not possible, return everything to the original card" is handled)."""
    folded = fold(text)
    for match in _OUTSIDE_POLICY_RE.finditer(folded):
        start = max(folded.rfind(sep, 0, match.start()) for sep in ".!?,;\n")
        if _CONDITION_RE.search(folded[start + 1 : match.start()]):
            continue  # "if it was lost, ..." states a case, it asks for nothing
        later = [at for at in fallback_starts(folded) if at > match.end()]
        if not later:
            return True
        alternative = re.split(r"(?<=[.!?])\s", folded[later[0] : later[0] + 240])[0]
        if lexicon.HUMAN_RE.search(alternative) or not _IN_SCOPE_RE.search(alternative):
            return True
    return False


# -------------------------------------------------------------------------- slots


def order_numbers(text: str) -> list[str]:
    """Order numbers in the order written ("OO-10418", "#W2378156", "order 4521")."""
    found: list[tuple[int, str]] = [(m.start(), m.group(1).upper()) for m in ORDER_RE.finditer(text)]
    found += [(m.start(1), m.group(1)) for m in ORDER_NUMBER_RE.finditer(text)]
    seen: list[str] = []
    for _, number in sorted(found):
        if number not in seen and not any(number in s or s in number for s in seen):
            seen.append(number)
    return seen


def amount_in(text: str) -> Decimal | None:
    for match in AMOUNT_RE.finditer(text):
        raw = (match.group(1) or match.group(2)).replace(",", ".")
        try:
            return Decimal(raw).quantize(Decimal("0.01"))
        except InvalidOperation:
            continue
    return None


def address_in(text: str) -> str:
    """The new address the text gives: one with a postal code first, else after "ship it to"."""
    if postal := POSTAL_ADDRESS_RE.search(text):
        address = postal.group(1) or postal.group(2)
    elif match := ADDRESS_LEAD_RE.search(text) or STREET_RE.search(text):
        address = match.group(1)
    else:
        return ""
    address = re.sub(r"(?i)\s+(?:instead|en su lugar|à la place|stattdessen)\b.*$", "", address)
    return address.strip().rstrip(".,")


def new_email_in(text: str, own: str) -> str:
    others = [e.rstrip(".") for e in EMAIL_RE.findall(text) if e.lower().rstrip(".") != own.lower()]
    return others[-1] if others else ""


# --------------------------------------------------------------------------- asks


@dataclass
class _Found:
    intent: str
    at: int
    sentence: str
    start: int


_UNSPLIT_RE = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|https?://\S+|\b(?:e\.g|i\.e|etc|approx|no|nr|st)\.|\d+[.,]\d+(?:[.,]\d+)*|"
    r"(?i:\b\d{1,2}\.(?=\s*(?:jan|feb|mar|m\u00e4r|apr|mai|jun|jul|aug|sep|okt|nov|dez)))"
)


def _sentences(text: str) -> list[tuple[int, str]]:
    """Sentences with their offsets; an e-mail address, a URL, "e.g.", an amount ("$37.95") or a
    German date ("19. Juni") never ends one."""
    shielded = _UNSPLIT_RE.sub(lambda m: m.group(0).replace(".", "\x00").replace("?", "\x01"), text)
    return [(m.start(), text[m.start() : m.end()]) for m in _SENTENCE_RE.finditer(shielded) if m.group(0).strip()]


def _masked_conditions(folded: str) -> str:
    for start, end, _ in conditions(folded):
        folded = folded[:start] + " " * (end - start) + folded[end:]
    return folded


def _negated(sentence: str, at: int) -> bool:
    return bool(lexicon.NEGATION_BEFORE_RE.search(sentence[:at]))


# "my trip got cancelled" tells why; only an order (or "it") cancelled is about the order.
_PASSIVE_BEFORE_RE = re.compile(r"\b(\w+)\s+(?:got|gets|was|were|is|are|(?:has|have|had)\s+been)\s+$")
_ORDER_NOUNS = frozenset({"order", "it", "purchase", "shipment", "parcel", "package", "delivery", "payment"})


_DETERMINER_BEFORE_RE = re.compile(r"\b(?:my|the|a|an|this|that|your|our|for|of|on)\s+$")


def _no_cancel_asked(sentence: str, intent: str, span: tuple[int, int]) -> bool:
    """A cancellation the customer reports, not asks for: of something not theirs to order ("my
    trip got cancelled"), or named as what it is ("the refund for my cancelled order")."""
    if intent != CANCEL:
        return False
    if re.match(r"cancel+ed\b", sentence[span[0] : span[1] + 2]) and _DETERMINER_BEFORE_RE.search(sentence[: span[0]]):
        return True
    passive = _PASSIVE_BEFORE_RE.search(sentence[: span[0]])
    return passive is not None and passive.group(1) not in _ORDER_NOUNS


_WH_START_RE = re.compile(
    r"^(?:how|what|when|where|which|why|who|como|cuanto|cuando|donde|comment|combien|quand|wie|wann|wo|welche)\b"
)


def _bare(sentence: str) -> str:
    """A sentence without its opening greeting, a leading "and" and Spanish question marks."""
    bare = lexicon.GREETING_RE.sub("", sentence.strip()).lstrip("¿¡").strip()
    return re.sub(r"^(?:and|also|y|et|und|e|ma|mais|aber|pero)\s+", "", bare)


def _is_question(sentence: str) -> bool:
    """Ends with a question mark, or opens with a question word ("how to wash merino")."""
    stripped = _bare(sentence)
    if _TRIVIAL_QUESTION_RE.search(stripped):
        return False
    if stripped.endswith("?"):
        return True
    return bool(_WH_START_RE.search(stripped))


def _intents_in(sentence: str) -> list[tuple[int, str]]:
    """Intents one sentence asks for, with where; a match inside a more specific one is dropped."""
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    for intent, pattern in lexicon.INTENT_PATTERNS:
        for match in pattern.finditer(sentence):
            span = match.span()
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            if _negated(sentence, span[0]) or _no_cancel_asked(sentence, intent, span):
                continue
            taken.append(span)
            if intent not in (i for _, i in found):
                found.append((span[0], intent))
            break
    return sorted(found)


def _distinct(questions: list[_Found]) -> list[_Found]:
    """A subject line that repeats a question of the body counts once (the body's, fuller)."""
    out: list[_Found] = []
    for q in questions:
        words = set(re.findall(r"\w+", q.sentence))
        same = next(
            (
                o
                for o in out
                if len(words & set(re.findall(r"\w+", o.sentence)))
                >= 0.7 * min(len(words), len(set(re.findall(r"\w+", o.sentence))))
            ),
            None,
        )
        if same is None:
            out.append(q)
        elif len(q.sentence) > len(same.sentence):
            out[out.index(same)] = q
    return out


_DAMAGE_RE = re.compile(
    rf"\b(?:{lexicon.DAMAGE_WORDS}|wrong\s+(?:item|size|colou?r)|replac\w*|"
    r"exchang\w*|danad|roto|abime|casse|kaputt|beschadigt|defekt)"
)
# An informational question ("how long is the reset link valid?", "what is the return window?")
# asks for an answer, not for the action its words name; "how do I reset it?" does ask for it.
_INFO_QUESTION_RE = re.compile(
    r"^(?:how\s+(?:long|many|much|soon|often)|what|which|when|where|why|is\s+there|are\s+there|do\s+you|"
    r"does\s+(?:the|your|it)|can\s+(?:one|anyone|people)|cuantos?|cuantas?|cual|cuando|que|se\s+puede|quel|quelle|"
    r"quand|combien|peut-on|est-ce\s+qu'?on\s+peut|wie\s+(?:lange|viele?)|welche[rsn]?|wann|was|(?:kann|darf)\s+man|"
    r"quant[io]|quale|si\s+puo|quantos?|qual|e\s+possivel)\b"
)
_NEED_RE = re.compile(
    r"\b(?:can'?t|cannot|never|expired|invalid|locked|not\s+work|doesn'?t\s+work|please|i\s+want|i\s+need|"
    r"i'?d\s+like|my\s+order|por\s+favor|s'il\s+vous\s+plait|bitte)\b"
)
INFO_ONLY_INTENTS = frozenset(
    {"reset_password", "change_email", "change_address", "book", "refund", "replace", "cancel"}
)


_ASKS_US_RE = re.compile(
    r"^(?:(?:can|could|would|will)\s+(?:you|u)|pueden|puede\s+usted|podrian|pouvez|pourriez|(?:konnen|konnten)\s+sie|"
    r"potete|potreste|podem|poderiam)\b"
)
_WANT_RE = re.compile(
    r"\b(?:i\s+(?:want|need|would\s+like|'d\s+like)|please|quiero|quisiera|necesito|por\s+favor|je\s+(?:veux|voudrais)|"
    r"j'aimerais|s'il\s+vous\s+plait|ich\s+(?:mochte|will|brauche)|bitte|vorrei|voglio|per\s+favore|quero|queria|"
    r"gostaria)\b"
)


def _info_question(sentence: str, intent: str, *, named_order: bool = False) -> bool:
    """A question about the rules rather than a request: "how long do refunds take?", or "can I
    return something bought online?" when no order is named."""
    stripped = _bare(sentence)
    if intent not in INFO_ONLY_INTENTS or _NEED_RE.search(stripped):
        return False
    if _INFO_QUESTION_RE.search(stripped):
        return True
    # With no order named, a question about returns that asks for nothing in so many words ("can I
    # return something bought online?") asks about the rules; "can you send a new one?" does ask.
    return (
        intent in (REFUND, REPLACE, CANCEL)
        and not named_order
        and stripped.endswith("?")
        and not _WANT_RE.search(stripped)
        and not _ASKS_US_RE.search(stripped)
    )


# What a booking is called: "can you move it?" reschedules only a message that names one.
_APPOINTMENT_RE = re.compile(
    r"\b(?:appointment|fitting|booking|session|visit|reservation|slot|service|repair|cita|reserva|rendez-vous|rdv|"
    r"termin|werkstatt\w*|appuntamento|prenotazione|consulta|marcacao)\b"
)


def _reconcile(found: list[_Found], folded: str) -> list[_Found]:
    """A damaged item with an explicit refund ask is a refund; a refund-status question is not a
    new refund; an appointment cancelled is not an order cancelled; "can you change it?" about an
    invoice is not a booking moved."""
    if not _APPOINTMENT_RE.search(folded):
        found = [f for f in found if f.intent not in (RESCHEDULE, CANCEL_APPOINTMENT)]
    intents = {f.intent for f in found}
    out = list(found)
    if REFUND in intents and REPLACE in intents:
        explicit = [
            f
            for f in found
            if f.intent == REPLACE
            and re.search(
                r"replac|exchang|swap|reemplaz|remplac|ersatz|"
                r"umtausch|cambi|echang",
                f.sentence,
            )
        ]
        if not explicit:
            out = [f for f in out if f.intent != REPLACE]
    if REFUND_STATUS in intents:
        out = [f for f in out if f.intent not in (REFUND, TRACK)]
    if RESCHEDULE in intents or CANCEL_APPOINTMENT in intents:
        out = [f for f in out if f.intent not in (BOOK, CANCEL)]
    if CHANGE_EMAIL in intents:
        out = [f for f in out if f.intent != CHANGE_ADDRESS or not re.search(r"e-?mail", f.sentence)]
    if RESET_PASSWORD in intents:
        # "can you send another one?" after an expired reset link asks for a link, not a product.
        out = [f for f in out if f.intent != REPLACE or _DAMAGE_RE.search(f.sentence)]
    if CANCEL in intents and TRACK in intents:
        # "can you cancel it before it ships?" asks for the cancellation; the status is the means.
        out = [f for f in out if f.intent != TRACK]
    return out


def _numbers_for(sentence: str, at: int) -> list[str]:
    """The sentence's order numbers, the one this ask names first: the first after its words, else
    the last before ("return all of OO-1, and cancel the vest I ordered last night (OO-2)")."""
    after, before = order_numbers(sentence[at:]), order_numbers(sentence[:at])
    first = after[:1] or before[-1:]
    return first + [n for n in order_numbers(sentence) if n not in first]


def _slots(
    intent: str, *, sentence: str, text: str, own_email: str, now: dt.datetime, language: str, at: int = 0
) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    if intent in ORDER_INTENTS:
        numbers = _numbers_for(sentence, at) or order_numbers(text)
        if numbers:
            slots["order"] = numbers[0]
            if len(numbers) > 1:
                slots["orders"] = numbers
        slots["items_text"] = sentence.strip()[:300]
    if intent == REFUND and (amount := amount_in(sentence) or amount_in(text)) is not None:
        slots["amount"] = str(amount)
    if intent == CHANGE_ADDRESS and (address := address_in(text)):
        slots["address"] = address[:300]
    if intent == CHANGE_EMAIL and (email := new_email_in(text, own_email)):
        slots["new_email"] = email
    if intent in (BOOK, RESCHEDULE):
        target = text
        if intent == RESCHEDULE:
            # The new time is the one named last ("my fitting on Friday ... is Saturday at 11 possible?"),
            # or the one after "to" / "instead" / "auf" ...
            dated = [s for _, s in _sentences(text) if parse_when(s, now=now, language=language).date is not None]
            to = re.search(r"(?i)\b(?:to|for|instead|auf|au|pour|para|a\s+el|al)\b", text)
            after = parse_when(text[to.end() :], now=now, language=language) if to else None
            if len(dated) > 1:
                target = dated[-1]
            elif after is not None and (after.date is not None or after.time is not None):
                target = text[to.end() :] if to else text
            else:
                # The one day named is the appointment being moved ("my fitting tomorrow"): the new
                # one is still to be asked for.
                target = ""
        when = parse_when(target, now=now, language=language)
        slots["when"] = when.iso()
        slots["date"] = when.date.isoformat() if when.date else ""
        slots["time"] = when.time.strftime("%H:%M") if when.time else ""
    if intent == QUESTION:
        slots["question"] = sentence.strip()[:500]
    return slots


def _missing(intent: str, slots: dict[str, Any]) -> tuple[str, ...]:
    if intent == CHANGE_EMAIL and not slots.get("new_email"):
        return ("new_email",)
    if intent in (BOOK, RESCHEDULE):
        return tuple(part for part in ("date", "time") if not slots.get(part))
    return ()


_REQUEST_CUE_RE = re.compile(
    r"\?|\b(?:please|can\s+you|could\s+you|would\s+you|i\s+want|i\s+need|i'?d\s+like|would\s+like|but\b|"
    r"however|por\s+favor|quiero|quisiera|necesito|pero|s'il\s+vous\s+plait|je\s+voudrais|j'aimerais|mais|"
    r"bitte|ich\s+mochte|ich\s+will|aber|vorrei|potete|per\s+favore|gostaria|preciso)\b"
)
# "Thanks, but my refund still hasn't come" waits for something: a negation with a refund-status
# or tracking ask is not a thank-you alone.
_NEGATION_RE = re.compile(r"\b(?:not|never|still|yet|no)\b")
_WAITING_PATTERNS = tuple(pattern for intent, pattern in lexicon.INTENT_PATTERNS if intent in (REFUND_STATUS, TRACK))


# Words of an order's whereabouts ("delivered", "pending", "enviado", "zugestellt"), and of a
# request for something no ask names ("can you remove the top from my order?").
_STATUS_CUE_RE = re.compile(
    r"\b(?:ship\w*|arriv\w*|deliver\w*|track\w*|status|pending|processing|dispatch\w*|where|when|enviad[oa]|"
    r"llega\w*|entreg\w*|seguimiento|expedi\w*|livr\w*|suivi|versand\w*|verschickt|geliefert|zugestellt|sendung|"
    r"spedi\w*|consegn\w*|rastreio|chega\w*|donde|cuando|quand|wann|wo|quando|dove|onde|get\s+there|reach\w*)\b"
)
_UNKNOWN_REQUEST_RE = re.compile(
    r"\b(?:can|could|would)\s+(?:you|u)\s+(?!(?:tell|check|confirm|let\s+me\s+know|look|see|find)\b)\w+|"
    r"\b(?:pueden|puede|podrian?|pouvez|pourriez|konnen\s+sie|konnten\s+sie|potete|potreste|podem|poderiam)\s+"
    r"(?!(?:decirme|confirmar|indicarme|me\s+dire|confirmer|mir\s+sagen|bestatigen|dirmi|confermare|dizer)\b)\w+|"
    r"\b(?:remove|add|change|swap|exchange|replace|refund|return|cancel|upgrade|combine|split|wrong|problem|issue)\b"
)


def _restates_a_request(sentence: str) -> bool:
    """A question that asks for the action asked for ("can you check on it?"), in any of its
    clauses ("I haven't seen the money yet, can you check on it?")."""
    clauses = re.split(r"[,;:]|\b(?:so|and|but|pero|mais|aber|ma)\b", sentence)
    return any(lexicon.REQUEST_QUESTION_RE.search(c.strip().lstrip("¿¡")) for c in clauses)


def _thanks_only(folded: str) -> bool:
    """A thank-you or praise that asks for nothing ("The replacement arrived, perfect. Thanks!")."""
    if not (lexicon.THANKS_RE.search(folded) and (lexicon.PRAISE_RE.search(folded) or len(folded.split()) <= 12)):
        return False
    if _REQUEST_CUE_RE.search(folded):
        return False
    return not (_NEGATION_RE.search(folded) and any(pattern.search(folded) for pattern in _WAITING_PATTERNS))


def extract_asks(
    text: str, *, language: str = "en", customer_email: str = "", now: dt.datetime | None = None
) -> list[Ask]:
    """The asks in a customer's message (subject included), in the order asked, each intent once
    (questions: at most two). An ask for a person or a request outside any policy comes first:
    it decides what happens to the whole ticket."""
    from django.utils import timezone

    now = now or timezone.now()
    folded = fold(text).replace("\u2019", "'")
    if asks_for_human(text):
        return [Ask(HUMAN, sentence=text.strip()[:300])]
    if _thanks_only(folded):
        return [Ask(THANKS, sentence=text.strip()[:300])]
    masked = _masked_conditions(folded)
    fallbacks = fallback_starts(folded)
    sentence_ends = [start + len(s) for start, s in _sentences(folded)]
    found: list[_Found] = []
    questions: list[_Found] = []
    numbers = order_numbers(text)
    named = bool(numbers)
    for start, sentence in _sentences(masked):
        intents = [(at, i) for at, i in _intents_in(sentence) if not _info_question(sentence, i, named_order=named)]
        for at, intent in intents:
            found.append(_Found(intent, start + at, sentence, start))
        if not intents and _is_question(folded[start : start + len(sentence)]):
            questions.append(_Found(QUESTION, start, folded[start : start + len(sentence)], start))
    found = _reconcile(found, folded)

    def is_fallback(at: int) -> bool:
        return any(f <= at < next((e for e in sentence_ends if e > f), len(folded)) for f in fallbacks)

    asks: list[Ask] = []
    if outside_policy(text):
        asks.append(Ask(OUTSIDE_POLICY, sentence=text.strip()[:300]))
    # Each intent once: where it names its order ("Return + cancel" as a subject, then "cancel the
    # vest (OO-2)"), else where it first appears.
    chosen: dict[str, _Found] = {}
    for item in sorted(found, key=lambda f: f.at):
        kept = chosen.get(item.intent)
        if kept is None or (not order_numbers(kept.sentence) and order_numbers(item.sentence)):
            chosen[item.intent] = item
    for item in sorted(chosen.values(), key=lambda f: f.at):
        original = text[item.start : item.start + len(item.sentence)]
        slots = _slots(
            item.intent,
            sentence=original,
            text=text,
            own_email=customer_email,
            now=now,
            language=language,
            at=item.at - item.start,
        )
        asks.append(Ask(item.intent, slots, _missing(item.intent, slots), is_fallback(item.at), original.strip()))
    if any(a.intent not in (QUESTION, THANKS, OTHER, OUTSIDE_POLICY) for a in asks):
        questions = [q for q in questions if not _restates_a_request(q.sentence)]
    if any(a.intent in (BOOK, RESCHEDULE) for a in asks):
        # "Is Saturday the 25th at 11 possible?" carries the booking's time; it is not a question apart.
        questions = [q for q in questions if parse_when(q.sentence, now=now, language=language).date is None]
    questions = _distinct(questions)
    if len(questions) > 1:
        # "Full or empty?" after "How should I store the battery?" elaborates; it is not an ask apart.
        questions = [q for q in questions if len(re.findall(r"\w+", q.sentence)) > 3] or questions[:1]
    for item in questions[:2]:
        original = text[item.start : item.start + len(item.sentence)]
        slots = _slots(QUESTION, sentence=original, text=text, own_email=customer_email, now=now, language=language)
        asks.append(Ask(QUESTION, slots, (), False, original.strip()))
    about_status = bool(_STATUS_CUE_RE.search(folded)) and not _UNKNOWN_REQUEST_RE.search(folded)
    if numbers and about_status and all(a.intent in (QUESTION, OTHER) for a in asks):
        # A question about one of the customer's orders that asks for nothing else: its status.
        sentence = next((a.sentence for a in asks), text.strip())
        return [Ask(TRACK, {"order": numbers[0], "items_text": sentence[:300]}, (), False, sentence[:300])]
    if not asks:
        return [Ask(OTHER, sentence=text.strip()[:300])]
    return asks


def primary_type(asks: list[Ask]) -> str:
    """The ticket type the asks point at: the first action ask's, else the first ask's."""
    for ask in asks:
        if ask.intent not in (QUESTION, THANKS, OTHER):
            return TYPE_FOR[ask.intent]
    return TYPE_FOR[asks[0].intent] if asks else "other"


def asks_from_json(data: list[dict[str, Any]]) -> list[Ask]:
    return [
        Ask(
            intent=str(a.get("intent", OTHER)),
            slots=dict(a.get("slots") or {}),
            missing=tuple(a.get("missing") or ()),
            fallback=bool(a.get("fallback", False)),
        )
        for a in data
        if isinstance(a, dict)
    ]

"""The local Agent's reply: each ask answered in the order asked, then at most two help-center
sentences that answer the question, and only those cited.

The plan's steps arrive as data (`ChatRequest.steps`, ai.agent.outcomes): the ask, the call made
for it, the tool's status and result, and what stopped it. `step_outcome` turns that into one word
the reply, the confidence and the decision all read:

  done         the action ran (or, in a trial, would run: simulated), or nothing was needed
  queued       an approval rule holds the action for a manager
  answered     the facts asked for are in the reply (an order looked up, a help-center sentence)
  missing      the customer has to tell us something first
  policy       the written policy forbids it: a person decides
  unverified   the customer's identity must be confirmed before we touch the account
  not_allowed  the tool it needs is not on the workspace's allow-list
  blocked      the order cannot take this action now, or no tool can do it
  failed       the tool ran and failed, or refused for a reason of its own
  unanswered   a question the help center does not clearly answer
  human        a person must take the ticket
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from ai.agent import phrases as P
from ai.agent.grounding import embed
from ai.agent.lexicon import TROUBLE_RE
from ai.agent.outcomes import QUESTION_BAR, step_outcome
from ai.agent.when import fold
from ai.providers.chat_base import ChatDraft, ChatRequest

# A quote for an action ask (what happens next: refund timing, tracking delays) must be closer
# to the customer's words than a question's answer: the action's answer is the tool result.
ACTION_BAR = 0.55
MAX_QUOTES = 2
# How far below the best sentence a second one may score and still be quoted beside it.
SECOND_QUOTE_GAP = 0.1
HUMAN_TYPES = frozenset({"troubleshooting", "policy_exception", "sensitive_data", "legal", "complaint"})
_WORD_RE = re.compile(r"[a-zà-ÿ0-9]+")
_STOP_WORDS = (
    "the a an and or of to in on for with is are was be it my your our i you we do does can could would how "
    "what when where which why there this that have has from at by about any will"
)
_STOP = frozenset(_STOP_WORDS.split(" "))


@dataclass(frozen=True)
class Quote:
    passage_n: int
    sentence: str
    score: float


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _STOP and len(w) > 2}


_HEADING_RE = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", re.MULTILINE)


@functools.lru_cache(maxsize=512)
def _segment(text: str) -> tuple[tuple[str, str], ...]:
    """An article's quotable sentences, each with the heading of its section, split by pysbd so
    "P.O. boxes", "e.g." and "Nov. 17" stay whole; table rows come as sentences of their own;
    headings and front matter are not quoted. The heading says what a sentence is about ("The
    email did not arrive" over "Check your spam folder"), so relevance reads the two together."""
    from ai.agent.grounding import split_sentences

    body = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
    parts = _HEADING_RE.split(body)
    sections = [("", parts[0])] + [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    out: list[tuple[str, str]] = []
    for heading, section in sections:
        for sentence in split_sentences(section, min_words=1, segmenter=True):
            # A sentence, not a heading or a list label: it ends like one.
            if len(sentence.split()) >= 5 and sentence.rstrip().endswith((".", "!", "?")) and not sentence[0].islower():
                out.append((heading, sentence))
    return tuple(out)


def article_sources(passages: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(passage n, article text) for the articles of the three best passages, each article once:
    quotes come from the article as written (its tables and wrapped lines intact), and are cited
    by the best passage of that article."""
    from helpdesk.helpcenter_render import html_to_text, render_body
    from helpdesk.models import Article

    first: dict[int, int] = {}
    for p in passages:
        if p.get("article") is not None and p["article"] not in first and len(first) < 3:
            first[p["article"]] = int(p["n"])
    bodies = dict(Article.objects.filter(pk__in=first).values_list("pk", "body"))
    out: list[tuple[int, str]] = []
    for article_id, n in first.items():
        body = bodies.get(article_id, "")
        if body.lstrip().startswith("<"):
            body = html_to_text(render_body(body, is_html=True))
        out.append((n, body))
    return out


def pick_quotes(question: str, sources: list[tuple[int, str]], *, bar: float, limit: int = MAX_QUOTES) -> list[Quote]:
    """Help-center sentences that answer `question`: cosine to it (plus a little for shared words)
    above `bar`, best first, at most two per article, never one that repeats a chosen one."""
    candidates = [(n, heading, s) for n, text in sources for heading, s in _segment(text)[:60]]
    if not candidates or not question.strip():
        return []
    read = [f"{heading}: {s}" if heading else s for _, heading, s in candidates]
    vectors = embed([question, *read, *(s for _, _, s in candidates)])
    # Half the sentence as it reads in its section, half as quoted alone: the heading helps find
    # what a sentence is about, but the sentence must still make sense on its own in the reply.
    sims = (vectors[1 : 1 + len(read)] @ vectors[0] + vectors[1 + len(read) :] @ vectors[0]) / 2
    asked = _words(question)
    scored = []
    for i, (n, _, sentence) in enumerate(candidates):
        overlap = len(asked & _words(read[i])) / max(1, min(len(asked), 6))
        # Rounded once, here: the outcome ("answered") and the draft compare the same number.
        scored.append((round(float(sims[i]) + 0.08 * min(1.0, overlap), 4), n, sentence))
    chosen: list[Quote] = []
    for score, n, sentence in sorted(scored, key=lambda x: -x[0]):
        if score < bar or len(chosen) >= limit:
            break
        if chosen and score < chosen[0].score - SECOND_QUOTE_GAP:
            break  # a second sentence far below the first adds a topic, not an answer
        if sum(1 for q in chosen if q.passage_n == n) >= 2 or any(sentence == q.sentence for q in chosen):
            continue
        chosen.append(Quote(n, sentence, score))
    return chosen


def best_quote_score(question: str, sources: list[tuple[int, str]]) -> float:
    found = pick_quotes(question, sources, bar=-1.0, limit=1)
    return found[0].score if found else 0.0


# ----------------------------------------------------------------------------- sentences


def _order_sentences(order: dict[str, Any], language: str, today: dt.date) -> list[str]:
    number = order.get("order") or order.get("number") or ""
    status = str(order.get("status") or "")
    carrier, tracking = order.get("carrier") or "", order.get("tracking_number") or ""

    def day(key: str) -> str:
        return P.when_date(order[key], language, today=today) if order.get(key) else ""

    if status == "shipped":
        if carrier and tracking and order.get("shipped_at"):
            return [
                P.say(
                    "track_shipped",
                    language,
                    order=number,
                    shipped=day("shipped_at"),
                    carrier=carrier,
                    tracking=tracking,
                )
            ]
        if order.get("shipped_at"):
            return [P.say("track_shipped_plain", language, order=number, shipped=day("shipped_at"))]
    if status == "delivered" and order.get("delivered_at"):
        out = [P.say("track_delivered", language, order=number, delivered=day("delivered_at"))]
        if carrier and tracking:
            out.append(P.say("track_delivered_by", language, carrier=carrier, tracking=tracking))
        return out
    if status == "processing":
        return [P.say("track_processing", language, order=number)]
    if status == "pending" and order.get("placed_at"):
        return [P.say("track_pending", language, order=number, placed=day("placed_at"))]
    if status == "cancelled":
        return [P.say("track_cancelled", language, order=number)]
    if status == "returned":
        return [P.say("track_returned", language, order=number)]
    return [P.say("track_other", language, order=number, status=P.status_word(status, language))]


def _items(step: dict[str, Any], order: dict[str, Any]) -> str:
    skus = set((step.get("args") or {}).get("skus") or [])
    names = [str(i.get("name") or i.get("sku")) for i in order.get("items") or [] if i.get("sku") in skus]
    return ", ".join(names) or ", ".join(sorted(skus))


def _done_sentences(step: dict[str, Any], language: str, email: str, today: dt.date) -> list[str]:
    tool, args = step.get("tool", ""), step.get("args") or {}
    result = step.get("result") or {}
    order = step.get("order") or {}
    currency = str(result.get("currency") or order.get("currency") or "USD")
    number = args.get("order_number") or order.get("order") or ""
    if tool == "issue_refund":
        text = P.say(
            "done_issue_refund", language, amount=P.money(args.get("amount"), currency, language), order=number
        )
    elif tool == "create_replacement":
        text = P.say("done_create_replacement", language, items=_items(step, order) or number, order=number)
    elif tool == "cancel_order":
        text = P.say("done_cancel_order", language, order=number)
    elif tool == "update_shipping_address":
        text = P.say("done_update_shipping_address", language, order=number, address=args.get("address", ""))
    elif tool == "request_email_change":
        text = P.say("done_request_email_change", language, new_email=args.get("new_email", ""))
    elif tool == "send_password_reset":
        text = P.say("done_send_password_reset", language, email=result.get("sent_to") or email)
    elif tool == "book_appointment":
        when = dt.datetime.fromisoformat(str(args.get("when")))
        key = "done_reschedule" if step.get("intent") == "reschedule" else "done_book_appointment"
        topic = str(args.get("topic") or "appointment")
        if topic == "appointment":
            key += "_plain"  # "your appointment", not "your appointment (appointment)"
        text = P.say(
            key,
            language,
            topic=topic,
            date=P.when_date(when.date(), language, today=today),
            time=P.when_time(when.time(), language),
        )
    else:
        return []
    if code := result.get("confirmation"):
        return [text, P.say("reference", language, code=code)]
    return [text]


def _missing_sentence(step: dict[str, Any], language: str, today: dt.date) -> str:
    problem = str(step.get("problem") or "")
    if problem.startswith("order:not_found:"):
        return P.say("order_not_found", language, number=problem.rsplit(":", 1)[1])
    slot = problem.removeprefix("missing:")
    if slot == "order":
        return P.say("missing_order" if step.get("has_orders") else "missing_order_none", language)
    if slot == "time" and (step.get("slots") or {}).get("date"):
        day = dt.date.fromisoformat(step["slots"]["date"])
        return P.say("missing_time", language, date=P.when_date(day, language, today=today))
    if slot in ("address", "new_email", "date", "items"):
        order = (step.get("order") or {}).get("order", "")
        return P.say(f"missing_{slot}", language, order=order)
    return P.say("person", language)


def _fee_sentences(step: dict[str, Any], language: str) -> list[str]:
    """Why a refund is less than the items' price: the shop's return-label fee was deducted."""
    fee = (step.get("notes") or {}).get("return_fee")
    if not fee or step.get("tool") != "issue_refund":
        return []
    currency = str((step.get("order") or {}).get("currency") or "USD")
    return [P.say("return_fee", language, fee=P.money(fee, currency, language))]


def step_sentences(
    step: dict[str, Any], language: str, *, email: str, today: dt.date, policy: dict[str, Any] | None = None
) -> list[str]:
    """What the reply says about one ask."""
    policy = policy or {}
    outcome = step_outcome(step)
    if outcome == "answered" and step.get("kind") == "read":
        order = step.get("result") or {}
        if step.get("intent") == "refund_status":
            refunded = (step.get("order") or {}).get("refunded") or "0"
            currency = str(order.get("currency") or "USD")
            number = order.get("order", "")
            if float(refunded) > 0:
                return [P.say("refunded_so_far", language, amount=P.money(refunded, currency, language), order=number)]
            return [*_order_sentences(order, language, today), P.say("not_refunded_yet", language, order=number)]
        said = _order_sentences(order, language, today)
        if explain := (step.get("notes") or {}).get("explain"):
            said.append(P.say(explain, language, days=policy.get("return_window_days", 30)))
        return said
    if outcome == "done":
        if step.get("intent") == "thanks":
            return [P.say("thanks", language)]
        said = _done_sentences(step, language, email, today)
        if items := (step.get("notes") or {}).get("not_refundable"):
            said.append(P.say("not_refundable", language, items=items))
        return said + _fee_sentences(step, language)
    if outcome == "queued":
        args, order = step.get("args") or {}, step.get("order") or {}
        if step.get("tool") == "issue_refund":
            currency = str(order.get("currency") or "USD")
            queued = P.say(
                "queued_issue_refund",
                language,
                amount=P.money(args.get("amount"), currency, language),
                order=args.get("order_number", ""),
            )
            return [queued, *_fee_sentences(step, language)]
        return [P.say("queued_generic", language)]
    if outcome == "missing":
        return [_missing_sentence(step, language, today)]
    if outcome == "policy":
        reason = str(step.get("problem", "")).removeprefix("policy:")
        if P.lang(language) == "en" and reason != "the request is outside the written policy":
            return [P.say("policy", language, reason=reason), P.say("person", language)]
        return [P.say("person", language)]
    if outcome == "unverified":
        return [P.say("verify", language)]
    if outcome in ("not_allowed", "blocked", "failed"):
        return [P.say("person", language)]
    return []


# --------------------------------------------------------------------------------- reply


# What a customer wants to know once an ask is done: the help-center sentence that answers it
# (refund timing, delivery times, how long a reset link lasts), by intent and order status.
NEXT_STEP = {
    ("track", "shipped"): "how many business days does delivery take after the order ships",
    ("track", "processing"): "when do orders leave the warehouse and ship",
    ("track", "pending"): "when do orders leave the warehouse and ship",
    ("refund", ""): "how long does it take for the refund to show on my bank statement",
    ("refund_status", ""): "when do you issue the refund after the return arrives at the warehouse",
    ("refund_status", "cancelled"): "how soon is the full amount refunded after an order is cancelled",
    ("replace", ""): "how do replacements for damaged or wrong items work",
    ("cancel", ""): "when is a cancelled order refunded",
    # Not cancelled: it left already. What they can do is refuse it or send it back.
    ("cancel", "shipped"): "can an order that has shipped still be cancelled",
    ("cancel", "delivered"): "can an order that has been delivered still be cancelled or returned",
    ("reset_password", ""): "how long is the password reset link valid",
    ("change_email", ""): "how to change the email address on my account",
}


def _trouble_clause(text: str) -> str:
    """The part of the customer's words that says what went wrong ("the reset email never comes")."""
    for clause in re.split(r"[,;.!?\n]|\b(?:and|but|y|pero|et|mais|und|aber|e|ma)\b", text):
        if TROUBLE_RE.search(fold(clause)) and len(clause.split()) >= 3:
            return clause.strip()
    return ""


def _next_step_quote(steps: list[dict[str, Any]], sources: list[tuple[int, str]]) -> list[Quote]:
    """One sentence on what happens next for the first ask that was done or answered, if the help
    center has one that fits that ask closely (never a loosely related one), and, when the customer
    says something went wrong ("the reset mail never came"), the sentence on that first. For an
    ask the AI could not act on (a tool not enabled, an identity to confirm), the sentence that
    tells the customer how to do it themselves, for the person who reviews the draft."""
    for step in steps:
        outcome = step_outcome(step)
        own_words = str(step.get("quote_query") or "")
        if outcome in ("not_allowed", "unverified"):
            return pick_quotes(own_words, sources, bar=QUESTION_BAR, limit=1)
        if outcome not in ("done", "queued", "answered"):
            continue
        trouble = _trouble_clause(own_words)
        first = pick_quotes(trouble, sources, bar=QUESTION_BAR, limit=1) if trouble else []
        status = str((step.get("order") or {}).get("status") or "")
        query = NEXT_STEP.get((str(step.get("intent")), status)) or NEXT_STEP.get((str(step.get("intent")), ""))
        after = pick_quotes(query, sources, bar=ACTION_BAR, limit=1) if query else []
        if not first and after:
            own = pick_quotes(own_words, sources, bar=ACTION_BAR, limit=1)
            after = sorted(after + own, key=lambda q: -q.score)[:1]
        return first + [q for q in after if q.sentence not in {f.sentence for f in first}]
    return []


def compose_local(request: ChatRequest, tool_results: list[dict[str, Any]]) -> ChatDraft:
    """The reply for the plan's steps (`request.steps`, their tool results merged in)."""
    language = request.language
    today = request.today or dt.date.today()
    first_name = (request.customer_name or "").split(" ")[0].strip()
    greeting = P.say("greeting", language, name=first_name) if first_name else P.say("greeting_anon", language)
    steps = request.steps
    human = request.ticket_type in HUMAN_TYPES or any(step_outcome(s) == "human" for s in steps)
    body: list[str] = []
    facts: list[str] = []
    quotes: list[Quote] = []
    if human:
        body.append(P.say("human_opener", language))
    else:
        for step in steps:
            # Two asks about one order ("where is it, and can I return it?") both read the order:
            # the reply states its status once.
            said = [
                sentence
                for sentence in step_sentences(
                    step, language, email=request.customer_email, today=today, policy=request.policy
                )
                if sentence not in facts
            ]
            facts += said
            if said:
                body.append(" ".join(said))
            question = step.get("quote_query") or ""
            if step_outcome(step) in ("answered", "unanswered") and step.get("intent") in ("question", "other"):
                quotes += [
                    q
                    for q in pick_quotes(question, request.sources, bar=QUESTION_BAR)
                    if q.sentence not in {x.sentence for x in quotes}
                ]
        if not quotes and P.lang(language) == "en":
            quotes = _next_step_quote(steps, request.sources)
    quotes = quotes[:MAX_QUOTES]
    order_of_n: list[int] = []
    for quote in quotes:
        if quote.passage_n not in order_of_n:
            order_of_n.append(quote.passage_n)
    if quotes:
        body.append(" ".join(f"{q.sentence} [{order_of_n.index(q.passage_n) + 1}]" for q in quotes))
    if not body:
        body.append(P.say("person", language))
    team = P.say("team", language, name=request.workspace_name)
    reply = "\n\n".join([greeting, *body, P.say("closing", language, team=team)])
    draft = ChatDraft(
        reply=reply.strip(),
        citations=order_of_n,
        self_check=1.0,
        sentences=facts + [q.sentence for q in quotes],
        quote_scores=[q.score for q in quotes],
    )
    if any(step_outcome(s) == "queued" for s in steps):
        draft.reply_if_approved = approved_reply(request)
    return draft


def approved_reply(request: ChatRequest) -> str:
    """The reply a manager's approval sends: each action that waited for it said as done."""
    done_steps = [
        {**s, "status": "executed", "requires_approval": False} if step_outcome(s) == "queued" else s
        for s in request.steps
    ]
    return compose_local(dataclasses.replace(request, steps=done_steps), []).reply

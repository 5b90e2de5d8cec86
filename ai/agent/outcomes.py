"""What was done about each ask: the plan's steps joined with their tool results.

`step_data` builds one dict per ask that the draft, the confidence and the decision read;
`step_outcome` reduces it to one word (see ai.agent.answer for the list), so the three never
disagree about what happened. `open_asks` says, in words a person reads in the inbox, what
keeps the reply from resolving the ticket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ai.agent import asks as A

if TYPE_CHECKING:
    from ai.tools.planner import Plan

COVERED = frozenset({"done", "queued", "answered"})
# MiniLM cosine of a help-center sentence to the question for it to count as the answer.
QUESTION_BAR = 0.5
# Words an English help center uses for each ask, added to the search query so a Spanish
# "¿dónde está mi pedido?" still finds the shipping article.
INTENT_WORDS = {
    A.TRACK: "order status shipping tracking number delivery",
    A.REFUND: "refund return money back",
    A.REFUND_STATUS: "refund how long it takes",
    A.REPLACE: "damaged defective wrong item replacement exchange",
    A.CANCEL: "cancel an order before it ships",
    A.CHANGE_ADDRESS: "change shipping address",
    A.CHANGE_EMAIL: "change account email address",
    A.CHANGE_PHONE: "change account phone number",
    A.RESET_PASSWORD: "password reset link sign in",
    A.BOOK: "book an appointment",
    A.RESCHEDULE: "reschedule an appointment",
    A.CANCEL_APPOINTMENT: "cancel an appointment",
}


def expanded_query(text: str, asks: list[A.Ask], language: str) -> str:
    if language == "en":
        return text
    words = " ".join(INTENT_WORDS[a.intent] for a in asks if a.intent in INTENT_WORDS)
    return f"{text}\n{words}".strip()


def step_outcome(step: dict[str, Any]) -> str:
    intent = step.get("intent", "")
    problem = str(step.get("problem") or "")
    status = str(step.get("status") or "")
    reason = str(step.get("reason") or "")
    if intent == A.HUMAN or (status == "executed" and step.get("tool") == "escalate_to_human"):
        return "human"
    if problem.startswith(("missing:", "order:not_found")):
        return "missing"
    if problem.startswith("policy:"):
        return "policy"
    if problem:
        return "blocked"
    if intent == A.THANKS:
        return "done"
    if intent == A.OTHER:
        return "unanswered"  # nothing the customer asks was understood: a person reads it
    if intent == A.QUESTION:
        return "answered" if float(step.get("quote_score") or 0.0) >= QUESTION_BAR else "unanswered"
    if status == "refused":
        if "not enabled" in reason:
            return "not_allowed"
        if "identity" in reason or "verif" in reason:
            return "unverified"
        return "failed"
    if status == "failed":
        return "failed"
    if status == "pending_approval" or step.get("requires_approval"):
        return "queued"
    if status in ("executed", "simulated", "held"):
        return "answered" if step.get("kind") == "read" else "done"
    return "unanswered"


def _entry_for(step: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in entries if e.get("tool") == step.get("tool") and e.get("args") == step.get("args")), None)


def step_data(
    plan: Any, entries: list[dict[str, Any]], sources: list[tuple[int, str]], text: str, has_orders: bool
) -> list[dict[str, Any]]:
    """Each ask with its call's status and result, the order it is about and, for questions,
    how well the best help-center sentence answers it."""
    from ai.agent.answer import best_quote_score

    if plan is None:
        return []
    out: list[dict[str, Any]] = []
    for step in plan.steps:
        data: dict[str, Any] = {
            **step.as_json()["ask"],
            "sentence": step.ask.sentence,
            "tool": step.call.tool if step.call else "",
            "args": dict(step.call.args) if step.call else {},
            "problem": step.problem,
            "notes": dict(step.notes),
            "has_orders": has_orders,
            "quote_query": step.ask.sentence or text,
        }
        if step.order is not None:
            data["order"] = {**step.order.citable(), "refunded": str(step.order.refunded)}
        if (entry := _entry_for(data, entries)) is not None:
            data.update(
                status=entry.get("status", ""),
                result=entry.get("result") or {},
                reason=entry.get("reason", ""),
                kind=entry.get("kind", ""),
                requires_approval=bool(entry.get("requires_approval")),
                not_enabled=bool(entry.get("not_enabled")),
            )
        if step.ask.intent in (A.QUESTION, A.OTHER):
            data["quote_score"] = best_quote_score(data["quote_query"], sources)
        out.append(data)
    return out


def customer_has_orders(plan: Plan) -> bool:
    return bool(plan.customer_orders)


def open_asks(steps: list[dict[str, Any]]) -> list[str]:
    """Why the reply does not resolve the ticket yet, one phrase per open ask."""
    reasons: list[str] = []
    for step in steps:
        outcome = step_outcome(step)
        intent, tool = step.get("intent", ""), step.get("tool", "")
        problem = str(step.get("problem") or "")
        if outcome == "missing":
            what = problem.removeprefix("missing:").replace("order:not_found:", "a valid order number (not ")
            what = what + ")" if what.startswith("a valid") else f"the {what.replace('_', ' ')}"
            reasons.append(f"ask the customer for {what} ({intent})")
        elif outcome == "not_allowed":
            reasons.append(f"needs {tool}, which this workspace does not allow")
        elif outcome == "unverified":
            reasons.append(f"needs {tool} for a customer whose identity is not verified yet")
        elif outcome == "blocked":
            detail = problem.removeprefix("order:").replace("_", " ") if problem != "no_tool" else "no tool can do it"
            reasons.append(f"{intent.replace('_', ' ')}: {detail}")
        elif outcome == "failed":
            reasons.append(f"{tool} {step.get('status', 'failed')}: {step.get('reason', '')}".strip())
        elif outcome == "unanswered":
            reasons.append(f"no help-center sentence answers: {str(step.get('sentence', ''))[:80]}")
        elif outcome == "policy":
            reasons.append(problem.removeprefix("policy:"))
    return reasons

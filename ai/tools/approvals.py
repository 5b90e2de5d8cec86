"""Approval gates: rules that hold an AI action (or reply) for a manager, and the request lifecycle.

An ActionRequest moves pending -> approved -> executed|failed, or pending -> rejected, each step
a conditional UPDATE on the current status, so double clicks, two managers at once and retried
tasks execute the action at most once.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ai.models import ActionRequest, ActionStatus, AgentRun, ApprovalRule, DraftFeedback, FeedbackVerdict
from ai.tools.base import REPLY_TOOL, ToolCall, ToolCheck
from ai.tools.describe import action_words
from ai.tools.policy import policy_clock
from ai.tools.registry import rule_dict
from audit.services import Actor, audit_record
from helpdesk.access import MANAGER_ROLES
from helpdesk.citations import same_text
from helpdesk.models import Membership, Ticket
from helpdesk.services import InvalidTransition, ticket_reply
from helpdesk.services_handoff import ticket_await_approval, ticket_handoff, ticket_release_approval

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

APPROVED_ACTOR = Actor.ai("approved-action")


class AlreadyDecided(ValidationError):
    """Someone else decided first (or this is a double click): nothing more happens."""


# ----------------------------------------------------------------------------- matching


def _rule_matches(rule: ApprovalRule, *, ticket: Ticket, tool: str | None, amount: Decimal | None) -> bool:
    # Every field the rule sets must match; an unset field matches anything.
    if rule.ticket_type and rule.ticket_type != ticket.ticket_type:
        return False
    if rule.channel and rule.channel != ticket.channel:
        return False
    if rule.tool and rule.tool != tool:
        return False
    return not (rule.amount_over is not None and (amount is None or amount <= rule.amount_over))


def matching_rule(*, ticket: Ticket, tool: str, amount: Decimal | None) -> dict[str, Any] | None:
    """The first enabled rule that holds this write action, as a dict for audit and the run."""
    for rule in ApprovalRule.objects.filter(workspace_id=ticket.workspace_id, enabled=True).order_by("pk"):
        if _rule_matches(rule, ticket=ticket, tool=tool, amount=amount):
            return rule_dict(rule)
    return None


def reply_rules(workspace_id: int) -> QuerySet[ApprovalRule]:
    """A rule without tool or amount (e.g. only a ticket type) holds every AI reply it matches."""
    rules = ApprovalRule.objects.filter(workspace_id=workspace_id, enabled=True, tool="", amount_over__isnull=True)
    return rules.order_by("pk")


def approval_required_for_reply(
    *, ticket: Ticket, rules: Iterable[ApprovalRule] | None = None
) -> dict[str, Any] | None:
    """The first of the `reply_rules` that holds an AI reply on this ticket. `rules`: those rows
    when the caller read them already (the Agent does, with its other configuration)."""
    for rule in reply_rules(ticket.workspace_id) if rules is None else rules:
        if _rule_matches(rule, ticket=ticket, tool=None, amount=None):
            return rule_dict(rule)
    return None


# ------------------------------------------------------------------------------ lifecycle


def _event(action: ActionRequest, **extra: Any) -> dict[str, Any]:
    return {
        "action": action.pk,
        "tool": action.tool,
        "args": action.args,
        "amount": str(action.amount) if action.amount is not None else None,
        "note": action.note,
        "run": action.run_id,
        **extra,
    }


@transaction.atomic
def action_request_create(
    *, ticket: Ticket, run: AgentRun | None, call: ToolCall, check: ToolCheck, reply_draft: str, actor: Actor
) -> ActionRequest:
    """Queue a held action (or, with tool `reply`, a held reply) and show the ticket as waiting."""
    if call.tool != REPLY_TOOL and not check.allowed:
        raise ValidationError(f"A refused call cannot be queued for approval: {check.reason}")
    existing = ActionRequest.objects.filter(
        ticket=ticket, run=run, tool=call.tool, args=call.args, status=ActionStatus.PENDING
    ).first()
    if existing is not None:  # a retried run finds its request instead of queueing a second one
        return existing
    action = ActionRequest.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        run=run,
        tool=call.tool,
        args=call.args,
        amount=check.amount,
        reply_draft=reply_draft,
        rule=check.rule or {},
        requested_by=actor.label,
        requested_by_user_id=actor.user_id,
    )
    label = (check.rule or {}).get("label", "an approval rule")
    ticket_await_approval(ticket=ticket, actor=actor, reason=f"{call.tool} waits for approval ({label})")
    audit_record(workspace=ticket.workspace, ticket=ticket, actor=actor, kind="action.requested", data=_event(action))
    return action


def may_manage(*, workspace_id: int, user: AbstractBaseUser) -> str:
    """'' if `user` manages the workspace's actions (a manager, an admin or a superuser), else why not."""
    if not user.is_authenticated or not user.is_active:
        return "Sign in to decide."
    if getattr(user, "is_superuser", False):
        return ""
    role = Membership.objects.filter(user_id=user.pk, workspace_id=workspace_id).values_list("role", flat=True)
    if not role or role[0] not in MANAGER_ROLES:
        return "Only managers and admins decide on actions."
    return ""


def may_decide(*, action: ActionRequest, user: AbstractBaseUser) -> str:
    """'' if `user` may approve or reject `action`, else why not."""
    if not user.is_authenticated or not user.is_active:
        return "Sign in to decide."
    if action.requested_by_user_id == user.pk:
        return "You requested this action; another manager must decide."
    return may_manage(workspace_id=action.workspace_id, user=user)


def _claim(*, action: ActionRequest, user: AbstractBaseUser, to: str, note: str) -> ActionRequest:
    problem = may_decide(action=action, user=user)
    if problem:
        raise PermissionDenied(problem)
    # Atomically: of two decisions at once, exactly one moves the row out of pending.
    won = ActionRequest.objects.filter(pk=action.pk, status=ActionStatus.PENDING).update(
        status=to, decided_by_id=user.pk, decided_at=timezone.now(), note=note
    )
    fresh = ActionRequest.objects.select_related("ticket__customer", "ticket__workspace", "run").get(pk=action.pk)
    if won != 1:
        raise AlreadyDecided(f"This request was already {fresh.get_status_display().lower()}.")
    return fresh


def _feedback(action: ActionRequest, user: AbstractBaseUser, verdict: str, actor: Actor) -> None:
    if action.run_id is None:
        return
    DraftFeedback.objects.create(run_id=action.run_id, user_id=user.pk, verdict=verdict)
    audit_record(
        workspace=action.ticket.workspace,
        ticket=action.ticket,
        actor=actor,
        kind="feedback.recorded",
        data={"run": action.run_id, "verdict": verdict, "reason": ""},
    )


def _confirmation_text(tool: str, result: dict[str, Any]) -> str:
    reference = result.get("confirmation") or ""
    if tool == "issue_refund":
        text = f"Refund confirmation: {result.get('amount')} {result.get('currency')} on order {result.get('order')}"
        return text + (f" (reference {reference})." if reference else ".")
    return f"Reference: {reference}." if reference else ""


def reply_with_result(draft: str, results: list[tuple[str, dict[str, Any]]]) -> str:
    lines = [_confirmation_text(tool, result) for tool, result in results]
    return "\n\n".join(part for part in (draft.strip(), *lines) if part)


def _edit_reply(action: ActionRequest, reply: str | None) -> dict[str, Any]:
    """A manager may rewrite the held reply before it goes; the audit keeps both texts."""
    if reply is None or same_text(reply, action.reply_draft):
        return {}
    reply = reply.strip()
    if not reply:
        raise ValidationError({"reply": "The reply is empty; write one or keep the AI's."})
    before = action.reply_draft
    ActionRequest.objects.filter(pk=action.pk).update(reply_draft=reply)
    action.reply_draft = reply
    return {"reply_edited": True, "reply_before": before, "reply_after": reply}


def _finish(action: ActionRequest, *, status: str, result: dict[str, Any], reason: str, actor: Actor) -> None:
    ActionRequest.objects.filter(pk=action.pk, status=ActionStatus.APPROVED).update(
        status=status,
        result={**result, **({"reason": reason} if status == ActionStatus.FAILED else {})},
        executed_at=timezone.now() if status == ActionStatus.EXECUTED else None,
    )
    action.refresh_from_db()
    kinds: dict[str, str] = {ActionStatus.EXECUTED: "action.executed", ActionStatus.FAILED: "action.failed"}
    kind = kinds.get(status, "action.waiting_return")
    audit_record(
        workspace=action.ticket.workspace,
        ticket=action.ticket,
        actor=actor,
        kind=kind,
        data=_event(action, result=result, reason=reason),
    )


def _execute(action: ActionRequest, actor: Actor) -> tuple[str, dict[str, Any], str]:
    from ai.tools.runner import run_tool

    if action.tool == REPLY_TOOL:
        return ActionStatus.EXECUTED, {}, "reply approved"
    outcome = run_tool(
        ticket=action.ticket,
        call=ToolCall(action.tool, dict(action.args)),
        actor=actor,
        run=action.run,
        approved_action=action,
    )
    ok = outcome.status == "executed"
    return (ActionStatus.EXECUTED if ok else ActionStatus.FAILED), outcome.result, outcome.reason


def _send_reply(action: ActionRequest, body: str, actor: Actor) -> None:
    if not body:
        return
    ticket = action.ticket
    try:
        with transaction.atomic():
            ticket_reply(
                ticket=ticket,
                body=body,
                actor=APPROVED_ACTOR,
                author_kind="ai",
                data={"run": action.run_id, "action": action.pk, "approved_by": actor.label},
                sources=action.run.citations if action.run is not None else None,
            )
    except InvalidTransition as exc:  # closed meanwhile: the action stands, the reply waits for a human
        ticket_handoff(ticket=ticket, actor=actor, reason=f"Approved reply not sent: {exc.messages[0]}"[:300])


def _release(action: ActionRequest, actor: Actor, what: str) -> None:
    if not ActionRequest.objects.filter(ticket=action.ticket, status=ActionStatus.PENDING).exists():
        ticket_release_approval(ticket=action.ticket, actor=actor, reason=f"{what}, approved by {actor.label}")


def action_approve(
    *, action: ActionRequest, user: AbstractBaseUser, note: str = "", reply: str | None = None
) -> ActionRequest:
    """Approve, execute exactly once, then send the held reply (as the manager left it) with the result.

    The claim, the execution and the reply commit together: a crash in between leaves the
    request pending, and the connector's idempotency key (derived from the request) makes the
    merchant refuse a repeat of a call that did go out. A refund the shop pays only once the
    return has arrived opens the return instead and waits (`action_return_arrived`).
    """
    from ai.tools.returns import return_open, return_reply

    with transaction.atomic():
        action = _claim(action=action, user=user, to=ActionStatus.APPROVED, note=note.strip())
        actor = Actor.for_user(user)
        ticket = action.ticket
        edited = _edit_reply(action, reply)
        audit_record(
            workspace=ticket.workspace,
            ticket=ticket,
            actor=actor,
            kind="action.approved",
            data=_event(action, **edited),
        )
        _feedback(action, user, FeedbackVerdict.APPROVED, actor)
        opened = return_open(action=action, actor=actor)
        if opened is not None:
            _finish(
                action, status=ActionStatus.WAITING_RETURN, result=opened, reason="waits for the return", actor=actor
            )
            _release(action, actor, "Return opened; the refund waits for the item")
            _send_reply(action, action.reply_draft if edited else return_reply(action, opened), actor)
            return action
        status, result, reason = _execute(action, actor)
        _finish(action, status=status, result=result, reason=reason, actor=actor)
        if status == ActionStatus.FAILED:
            ticket_handoff(ticket=ticket, actor=actor, reason=f"The approved {action.tool} failed: {reason}"[:300])
            return action
        _release(action, actor, action_words(action.tool, action.args, str(result.get("currency") or "")))
        # One run may hold several actions with one draft: the reply goes out once, with the
        # last approval and every result; if part of the plan was turned down, a human replies.
        siblings = ActionRequest.objects.filter(run_id=action.run_id).exclude(pk=action.pk) if action.run_id else None
        if siblings is not None and siblings.filter(status=ActionStatus.PENDING).exists():
            return action
        if siblings is not None and siblings.filter(status__in=[ActionStatus.REJECTED, ActionStatus.FAILED]).exists():
            ticket_handoff(
                ticket=ticket, actor=actor, reason="Part of the AI's plan was not carried out; reply not sent"
            )
            return action
        done = (
            [(s.tool, s.result) for s in siblings.filter(status=ActionStatus.EXECUTED).order_by("pk")]
            if siblings
            else []
        )
        _send_reply(action, reply_with_result(action.reply_draft, [*done, (action.tool, result)]), actor)
    return action


def action_return_arrived(*, action: ActionRequest, user: AbstractBaseUser) -> ActionRequest:
    """The item of a refund that waited for its return is back: mark the order returned, pay the
    refund exactly once (the same conditional claim as an approval) and tell the customer."""
    from ai.tools.returns import order_mark_returned

    with transaction.atomic():
        # Marking the item back needs a manager, like the approval; the requester may be one.
        problem = may_manage(workspace_id=action.workspace_id, user=user)
        if problem:
            raise PermissionDenied(problem)
        won = ActionRequest.objects.filter(pk=action.pk, status=ActionStatus.WAITING_RETURN).update(
            status=ActionStatus.APPROVED
        )
        if won != 1:
            raise AlreadyDecided("This refund does not wait for a return (any more).")
        action = ActionRequest.objects.select_related("ticket__customer", "ticket__workspace", "run").get(pk=action.pk)
        actor = Actor.for_user(user)
        order_mark_returned(action=action, actor=actor)
        # The return window is judged on the day the customer asked, not the day the item came back.
        with policy_clock(action.created_at):
            status, result, reason = _execute(action, actor)
        _finish(action, status=status, result=result, reason=reason, actor=actor)
        if status == ActionStatus.FAILED:
            ticket_handoff(
                ticket=action.ticket, actor=actor, reason=f"The refund after the return failed: {reason}"[:300]
            )
            return action
        _send_reply(action, reply_with_result(action.reply_draft, [(action.tool, result)]), actor)
    return action


@transaction.atomic
def action_reject(*, action: ActionRequest, user: AbstractBaseUser, note: str) -> ActionRequest:
    """Reject with a reason: nothing runs, nothing is sent, a human takes the ticket."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why the request is rejected."})
    action = _claim(action=action, user=user, to=ActionStatus.REJECTED, note=note)
    actor = Actor.for_user(user)
    ticket = action.ticket
    audit_record(
        workspace=ticket.workspace,
        ticket=ticket,
        actor=actor,
        kind="action.rejected",
        data=_event(action, reason=note),
    )
    _feedback(action, user, FeedbackVerdict.REJECTED, actor)
    ticket_handoff(ticket=ticket, actor=actor, reason=f"Rejected {action.tool}: {note}"[:300])
    return action

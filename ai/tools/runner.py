"""Checking and running tool calls: the only path from a model's wish to a change in the shop.

`tool_check` has no side effect; `tool_execute` re-checks (nothing is trusted between the two),
runs, and audits every outcome as "ai.tool_called", refusals included.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction

from ai.tools.base import READ, WRITE, ToolCall, ToolCheck, ToolContext, ToolFailed, ToolRefused, ToolResult, ToolSpec
from ai.tools.common import parse_amount
from ai.tools.connector import ShopConnector, _public, connector_for
from ai.tools.http_client import idempotency_key
from ai.tools.registry import permissions, schema_error, workspace_specs
from audit.services import Actor, audit_record
from helpdesk.services_identity import identity_refusal, ticket_identity_verified

if TYPE_CHECKING:
    from ai.models import ActionRequest, AgentRun
    from ai.tools.session import ToolSession
    from helpdesk.models import Ticket


@dataclass
class _Evaluation:
    check: ToolCheck
    spec: ToolSpec | None
    preview: dict[str, Any]
    failed: bool = False  # the connector failed while checking (not a refusal)


def _refuse(call: ToolCall, reason: str, kind: str = "", amount: Decimal | None = None) -> _Evaluation:
    check = ToolCheck(
        call=call, allowed=False, kind=kind, reason=reason, requires_approval=False, rule=None, amount=amount
    )
    return _Evaluation(check=check, spec=None, preview={})


# Tools that touch no customer account (a hand-off to a person is always allowed). Every other
# tool reads or changes an order or account, so it acts only for a customer verified for the
# ticket (helpdesk/services_identity.py).
IDENTITY_FREE_TOOLS = frozenset({"escalate_to_human"})


def _evaluate(
    *, ticket: Ticket, call: ToolCall, connector: ShopConnector, session: ToolSession | None = None
) -> _Evaluation:
    from ai.tools.approvals import matching_rule

    specs = session.specs() if session is not None else workspace_specs(ticket.workspace_id)
    spec = specs.get(call.tool)
    if spec is None:
        return _refuse(call, f"unknown tool {call.tool!r}")
    allowed = session.permissions() if session is not None else permissions(ticket.workspace_id)
    permission = allowed.get(call.tool)
    not_enabled = permission is None or not permission.enabled
    if not_enabled and not (session is not None and session.simulate_builtin and spec.builtin):
        return _refuse(call, f"the tool {call.tool} is not enabled in this workspace", spec.kind)
    if not isinstance(call.args, dict):
        return _refuse(call, "arguments must be a JSON object", spec.kind)
    verified = session.identity_verified if session is not None else lambda: ticket_identity_verified(ticket)
    if call.tool not in IDENTITY_FREE_TOOLS and not verified():
        # A typed-in address (contact form, unsigned chat, a From: header) is anyone's to type:
        # nothing that reads or changes that account runs until the customer is proven.
        return _refuse(call, identity_refusal(ticket), spec.kind)
    problem = schema_error(spec.schema, call.args)
    if problem:
        return _refuse(call, problem, spec.kind)
    amount: Decimal | None = None
    if spec.amount_arg and call.args.get(spec.amount_arg) is not None:
        try:
            amount = parse_amount(call.args[spec.amount_arg])
        except ToolRefused as exc:
            return _refuse(call, exc.reason, spec.kind)
        if permission is not None and permission.max_amount is not None and amount > permission.max_amount:
            return _refuse(
                call, f"amount {amount} is above the tool's maximum of {permission.max_amount}", spec.kind, amount
            )
    context = ToolContext(ticket=ticket, connector=connector, actor=Actor.system("tool-check"))
    try:
        preview = spec.prepare(context, dict(call.args))
    except ToolRefused as exc:
        return _refuse(call, exc.reason, spec.kind, amount)
    except ToolFailed as exc:
        evaluation = _refuse(call, exc.reason, spec.kind, amount)
        evaluation.failed = True
        return evaluation
    rule = matching_rule(ticket=ticket, tool=call.tool, amount=amount) if spec.kind == WRITE else None
    if rule is None and spec.kind == WRITE:
        rule = _policy_hold(ticket, call)
    check = ToolCheck(
        call=call,
        allowed=True,
        kind=spec.kind,
        reason=f"approval needed: {rule['label']}" if rule else "allowed",
        requires_approval=rule is not None,
        rule=rule,
        amount=amount,
        not_enabled=not_enabled,
    )
    return _Evaluation(check=check, spec=spec, preview=_public(preview))


def _policy_hold(ticket: Ticket, call: ToolCall) -> dict[str, Any] | None:
    """A refund the shop pays only once the return has arrived waits for a manager, whatever
    its amount: approving it opens the return, and the refund follows the item."""
    from ai.tools.review import order_for_args, refund_waits_for_return

    if call.tool != "issue_refund":  # the only tool that waits for a return
        return None
    order = order_for_args(ticket.workspace_id, call.args)
    if not refund_waits_for_return(workspace=ticket.workspace, tool=call.tool, order=order):
        return None
    return {"source": "shop_policy", "label": "refunds wait for the returned item (shop policy)"}


def tool_check(*, ticket: Ticket, call: ToolCall, session: ToolSession | None = None) -> ToolCheck:
    """Schema, allow-list, maximum amount, identity, policy and approval rules; changes nothing.

    With a run's `session`, what it reads is read once per run, and the check is kept so that
    `tool_execute` in the same run runs a read tool (or refuses) on it without checking again.
    """
    if session is None:
        connector = connector_for(ticket=ticket, actor=Actor.system("tool-check"))
        return _evaluate(ticket=ticket, call=call, connector=connector).check
    evaluation = _evaluate(ticket=ticket, call=call, connector=session.connector(), session=session)
    session.remember(call, evaluation)
    return evaluation.check


def _audit(
    *,
    ticket: Ticket,
    actor: Actor,
    run: AgentRun | None,
    call: ToolCall,
    status: str,
    result: dict[str, Any],
    reason: str,
    action: ActionRequest | None = None,
) -> None:
    data: dict[str, Any] = {
        "run": run.pk if run else None,
        "tool": call.tool,
        "args": call.args if isinstance(call.args, dict) else {"invalid": repr(call.args)[:200]},
        "status": status,
        "result": result,
        "reason": reason,
    }
    if action is not None:
        data["action"] = action.pk
    with transaction.atomic():
        audit_record(workspace=ticket.workspace, ticket=ticket, actor=actor, kind="ai.tool_called", data=data)


def run_tool(
    *,
    ticket: Ticket,
    call: ToolCall,
    actor: Actor,
    run: AgentRun | None = None,
    shadow: bool = False,
    approved_action: ActionRequest | None = None,
    session: ToolSession | None = None,
) -> ToolResult:
    """`tool_execute`, plus the approval path: an approved ActionRequest passes the approval gate
    (and only that gate) and uses a key derived from the request, so retries never repeat it."""
    checked = session.checked(call) if session is not None and approved_action is None else None
    if session is not None and checked is not None and (not checked.check.allowed or checked.check.kind == READ):
        # Checked moments ago in this run: a refusal stands, a read runs on the same reads.
        connector: ShopConnector = session.connector()
        evaluation = checked
    else:
        connector = connector_for(ticket=ticket, actor=actor)
        evaluation = _evaluate(ticket=ticket, call=call, connector=connector)
    check = evaluation.check
    action_id = approved_action.pk if approved_action else None

    def finish(status: str, result: dict[str, Any], reason: str) -> ToolResult:
        _audit(
            ticket=ticket,
            actor=actor,
            run=run,
            call=call,
            status=status,
            result=result,
            reason=reason,
            action=approved_action,
        )
        return ToolResult(call=call, status=status, result=result, reason=reason, action_request_id=action_id)

    if not check.allowed or evaluation.spec is None:
        return finish("failed" if evaluation.failed else "refused", {}, check.reason)
    spec = evaluation.spec
    if shadow and spec.kind == WRITE:
        preview = {**evaluation.preview, "requires_approval": check.requires_approval}
        return finish("simulated", preview, "shadow mode: nothing was changed")
    if check.requires_approval and approved_action is None:
        return finish("pending_approval", evaluation.preview, check.reason)
    if approved_action is not None:
        key = idempotency_key("action", approved_action.pk)
    else:
        scope = f"run-{run.pk}" if run else f"ticket-{ticket.pk}"
        key = idempotency_key(ticket.workspace_id, scope, call.tool, call.args)
    context = ToolContext(ticket=ticket, connector=connector, actor=actor, run=run, idempotency_key=key)
    try:
        # The change and its "executed" audit row commit together.
        with transaction.atomic():
            result = _public(spec.run(context, dict(call.args)))
            return finish("executed", result, "executed" if spec.kind == WRITE else "read")
    except ToolRefused as exc:
        return finish("refused", {}, exc.reason)
    except ToolFailed as exc:
        return finish("failed", {}, exc.reason)


def tool_execute(
    *,
    ticket: Ticket,
    call: ToolCall,
    actor: Actor,
    run: AgentRun | None = None,
    shadow: bool = False,
    session: ToolSession | None = None,
) -> ToolResult:
    """Re-check and run one call (shadow: write tools only simulate). A call an approval rule
    holds returns "pending_approval" without running: `action_request_create` queues it.

    With the `session` the call was checked in (`tool_check`), a read tool or a refused call
    uses that check; a write tool is always checked again here."""
    return run_tool(ticket=ticket, call=call, actor=actor, run=run, shadow=shadow, session=session)


__all__ = ["READ", "WRITE", "run_tool", "tool_check", "tool_execute"]

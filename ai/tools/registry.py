"""The registry: which tools exist, which a workspace allows, and their argument schemas.

Built-in tools are the same for every workspace; HTTP actions are per workspace. Nothing is
allowed unless a `ToolPermission` row enables it (deny by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

from ai.models import ApprovalRule, HttpAction, ToolPermission
from ai.tools import (
    book_appointment,
    cancel_order,
    create_replacement,
    escalate_to_human,
    http_action,
    issue_refund,
    lookup_order,
    request_email_change,
    send_password_reset,
    update_shipping_address,
)
from ai.tools.base import ToolSpec
from ai.tools.connector import SHOP_CONNECTOR_ACTION
from helpdesk.models import Workspace

BUILTIN_TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        lookup_order.SPEC,
        issue_refund.SPEC,
        create_replacement.SPEC,
        send_password_reset.SPEC,
        request_email_change.SPEC,
        update_shipping_address.SPEC,
        cancel_order.SPEC,
        book_appointment.SPEC,
        escalate_to_human.SPEC,
    )
}
# What a new workspace allows: reading orders and handing over to a human. Everything that
# changes money, accounts or shipments is off until an admin turns it on.
DEFAULT_ENABLED = frozenset({"lookup_order", "escalate_to_human"})
RESERVED_NAMES = frozenset({SHOP_CONNECTOR_ACTION, "reply"})


def workspace_specs(workspace: Workspace | int) -> dict[str, ToolSpec]:
    """Every tool the workspace could enable: the built-ins, then its HTTP actions."""
    return specs_from_actions(HttpAction.objects.filter(workspace=workspace).order_by("name"))


def specs_from_actions(actions: Iterable[HttpAction]) -> dict[str, ToolSpec]:
    """The built-ins, then these HTTP actions (in name order) that do not shadow a name."""
    specs = dict(BUILTIN_TOOLS)
    for action in actions:
        if action.name not in specs and action.name not in RESERVED_NAMES:
            specs[action.name] = http_action.spec_for(action)
    return specs


def permissions(workspace: Workspace | int) -> dict[str, ToolPermission]:
    return {p.tool: p for p in ToolPermission.objects.filter(workspace=workspace)}


def schema_error(schema: dict[str, Any], args: Any) -> str:
    """'' if `args` fit the schema, else the clearest reason why not."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    error = best_match(validator.iter_errors(args))
    if error is None:
        return ""
    where = "/".join(str(p) for p in error.absolute_path)
    return f"arguments do not match the schema: {error.message}" + (f" (at {where})" if where else "")


def schema_problem(schema: Any) -> str:
    """'' if `schema` is a valid Draft 2020-12 object schema (for the HTTP action form)."""
    if not isinstance(schema, dict):
        return "the schema must be a JSON object"
    try:
        Draft202012Validator.check_schema(schema)
    except Exception as exc:  # jsonschema.SchemaError: report its message
        return f"not a valid JSON Schema: {getattr(exc, 'message', exc)}"
    if schema and schema.get("type") != "object":
        return 'the arguments schema must have "type": "object"'
    return ""


def tool_schemas(*, workspace: Workspace | int) -> list[dict[str, Any]]:
    """OpenAI `tools` entries of the ENABLED tools only: the model never sees the others."""
    allowed = permissions(workspace)
    return [
        spec.openai_schema()
        for name, spec in workspace_specs(workspace).items()
        if name in allowed and allowed[name].enabled
    ]


def rule_dict(rule: ApprovalRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "ticket_type": rule.ticket_type or None,
        "tool": rule.tool or None,
        "amount_over": str(rule.amount_over) if rule.amount_over is not None else None,
        "channel": rule.channel or None,
        "label": str(rule),
    }


def tool_catalog(*, workspace: Workspace | int) -> list[dict[str, Any]]:
    """The enumerated list: every tool, whether it is enabled, its limit, schema and approval rules."""
    allowed = permissions(workspace)
    rules = list(ApprovalRule.objects.filter(workspace=workspace, enabled=True).order_by("pk"))
    catalog = []
    for name, spec in workspace_specs(workspace).items():
        permission = allowed.get(name)
        catalog.append(
            {
                "name": name,
                "description": spec.description,
                "kind": spec.kind,
                "builtin": spec.builtin,
                "enabled": bool(permission and permission.enabled),
                "max_amount": str(permission.max_amount) if permission and permission.max_amount is not None else None,
                "amount_arg": spec.amount_arg or None,
                "schema": spec.schema,
                # Rules naming this tool, or naming no tool (they hold every write action).
                "approval_rules": [
                    rule_dict(r) for r in rules if r.tool == name or (not r.tool and spec.kind == "write")
                ],
            }
        )
    return catalog

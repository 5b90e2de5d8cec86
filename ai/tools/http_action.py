"""HTTP actions: tools an admin defines that call the merchant's own API.

The URL template takes the validated arguments (URL-encoded) and two identity fields,
`{customer_email}` and `{ticket}`, which always come from the ticket. The JSON body is
`{"args": {...}, "customer_email": ..., "ticket": ...}`, signed with the action's secret; the
secret itself never appears in a result, an audit event or a reply.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ai.tools.base import READ, WRITE, ToolContext, ToolRefused, ToolSpec
from ai.tools.connector import _public
from ai.tools.http_client import signed_request

if TYPE_CHECKING:
    from ai.models import HttpAction

EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
IDENTITY_FIELDS = ("customer_email", "ticket")


def template_fields(template: str) -> list[str]:
    """The placeholders of a URL template; only plain names (no `{a.b}` or `{a[0]}`) are allowed."""
    names = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}}} is not a plain placeholder")
        names.append(name)
    return names


def render_url(template: str, *, args: dict[str, Any], identity: dict[str, str]) -> str:
    values: dict[str, str] = {}
    for name in template_fields(template):
        if name in IDENTITY_FIELDS:
            values[name] = quote(identity[name], safe="")
        elif name in args and isinstance(args[name], str | int | float):
            values[name] = quote(str(args[name]), safe="")
        else:
            raise ToolRefused(f"the URL needs the argument {name!r}")
    return template.format_map(values)


def _identity(ctx: ToolContext) -> dict[str, str]:
    return {"customer_email": ctx.customer_email, "ticket": str(ctx.ticket.number)}


def spec_for(action: HttpAction) -> ToolSpec:
    def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        render_url(action.url_template, args=args, identity=_identity(ctx))
        return {"action": action.name, "method": action.method.upper(), "args": args}

    def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
        url = render_url(action.url_template, args=args, identity=_identity(ctx))
        payload = {"args": args, **_identity(ctx)}
        data = signed_request(
            method=action.method,
            url=url,
            payload=payload,
            secret=action.secret,
            timeout=action.timeout_seconds,
            key=ctx.idempotency_key,
        )
        return {"action": action.name, "response": _public(data)}

    return ToolSpec(
        name=action.name,
        description=action.description,
        schema=action.args_schema or EMPTY_SCHEMA,
        kind=WRITE if action.kind != READ else READ,
        amount_arg=action.amount_arg,
        prepare=prepare,
        run=run,
        builtin=False,
    )

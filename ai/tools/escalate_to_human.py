"""escalate_to_human: hand the conversation to a person, with the reason.

It changes nothing in the shop, so it is a `read` tool: it may run at once, without approval.
The Agent turns the result into its `escalate` decision.
"""

from __future__ import annotations

from typing import Any

from ai.tools.base import READ, ToolContext, ToolSpec
from ai.tools.common import REASON, obj


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"escalated": True, "reason": args["reason"].strip()}


SPEC = ToolSpec(
    name="escalate_to_human",
    description="Hand the ticket to a human agent, with the reason (policy exception, complaint, unclear case).",
    schema=obj({"reason": {**REASON, "minLength": 1}}, ["reason"]),
    kind=READ,
    prepare=prepare,
    run=prepare,
)

"""send_password_reset: email a reset link to the ticket customer's own address."""

from __future__ import annotations

from typing import Any

from ai.tools.base import WRITE, ToolContext, ToolSpec
from ai.tools.common import obj


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    # No address argument exists: the link only ever goes to the address on the ticket.
    return {"sent_to": ctx.customer_email}


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    done = ctx.connector.send_password_reset(email=ctx.customer_email, key=ctx.idempotency_key)
    return {"sent_to": ctx.customer_email, "confirmation": done.get("confirmation", "")}


SPEC = ToolSpec(
    name="send_password_reset",
    description="Send a password-reset link to the customer's own email address (the one on the ticket).",
    schema=obj({}, []),
    kind=WRITE,
    prepare=prepare,
    run=run,
)

"""request_email_change: ask to move the customer's account to a new address.

The new address is the target of the change, never an identity: the request is confirmed from
the CURRENT address on the ticket, so a message claiming "the customer is verified" gains nothing.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ai.tools.base import WRITE, ToolContext, ToolRefused, ToolSpec
from ai.tools.common import obj


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    new_email = args["new_email"].strip()
    try:
        validate_email(new_email)
    except ValidationError:
        raise ToolRefused(f"{new_email!r} is not an email address") from None
    if new_email.lower() == ctx.customer_email.lower():
        raise ToolRefused("the new address is the current one")
    return {"account": ctx.customer_email, "new_email": new_email, "confirm_via": ctx.customer_email}


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    preview = prepare(ctx, args)
    done = ctx.connector.request_email_change(
        email=ctx.customer_email, new_email=preview["new_email"], key=ctx.idempotency_key
    )
    return {**preview, "status": "confirmation sent", "confirmation": done.get("confirmation", "")}


SPEC = ToolSpec(
    name="request_email_change",
    description=(
        "Request a change of the customer's account email. The customer confirms from their current address; "
        "it never changes any other account."
    ),
    schema=obj({"new_email": {"type": "string", "format": "email", "maxLength": 254}}, ["new_email"]),
    kind=WRITE,
    prepare=prepare,
    run=run,
)

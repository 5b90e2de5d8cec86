"""book_appointment: book a call or visit for the customer at a given time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ai.tools.base import WRITE, ToolContext, ToolRefused, ToolSpec
from ai.tools.common import obj
from ai.tools.policy import policy_for, policy_now


def prepare(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    try:
        when = parse_datetime(args["when"])
    except ValueError:
        when = None
    if when is None:
        raise ToolRefused(f"{args['when']!r} is not a date and time")
    if timezone.is_naive(when):
        when = when.replace(tzinfo=dt.UTC)
    now = policy_now()
    horizon = policy_for(ctx.ticket.workspace).appointment_horizon_days
    if when <= now:
        raise ToolRefused("the appointment time is in the past")
    if when > now + dt.timedelta(days=horizon):
        raise ToolRefused(f"appointments can be booked at most {horizon} days ahead")
    return {"when": when.isoformat(), "topic": args.get("topic", "").strip()}


def run(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    preview = prepare(ctx, args)
    done = ctx.connector.book_appointment(
        email=ctx.customer_email, when=preview["when"], topic=preview["topic"], key=ctx.idempotency_key
    )
    return {**preview, "confirmation": done.get("confirmation", "")}


SPEC = ToolSpec(
    name="book_appointment",
    description="Book an appointment for the customer at a future date and time (ISO 8601).",
    schema=obj(
        {"when": {"type": "string", "format": "date-time"}, "topic": {"type": "string", "maxLength": 200}},
        ["when"],
    ),
    kind=WRITE,
    prepare=prepare,
    run=run,
)

"""Billing fixtures: a finance user, a plan, and helpers that play the AI and the customer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.services import Actor
from billing.services import outcome_track_ai_reply, plan_for
from conftest import make_user
from helpdesk.models import Message, Role, Ticket, Workspace
from helpdesk.services import membership_add, ticket_add_customer_message, ticket_create, ticket_reply
from helpdesk.services_ai import ticket_record_ai_decision

ANSWER = "Your order A1001 shipped yesterday with UPS, tracking 1Z999. It should arrive on Friday."


@pytest.fixture
def finance(workspace):
    user = make_user("fiona.finance@acme.test")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    membership_add(workspace=workspace, user=user, role=Role.FINANCE, actor=Actor.system("test"))
    return user


@pytest.fixture
def plan(workspace):
    return plan_for(workspace)


def new_ticket(workspace: Workspace, n: int = 1, channel: str = "chat") -> Ticket:
    return ticket_create(
        workspace=workspace,
        channel=channel,
        customer_email=f"c{n}@customer.test",
        subject=f"Where is order {n}?",
        body="Hi, where is my order?",
    )


def ai_reply(ticket: Ticket, body: str = ANSWER, track: bool = True, autosend: bool = True) -> Any:
    """What an autosend does: record the decision, then send through the humans' reply service."""
    if autosend:
        ticket_record_ai_decision(
            ticket=ticket, decision="autosend", confidence=0.95, reason="", actor=Actor.ai("local")
        )
    message = ticket_reply(ticket=ticket, body=body, actor=Actor.ai("local"), author_kind="ai")
    return outcome_track_ai_reply(message=message) if track else message


def customer_says(ticket: Ticket, body: str, capture: Callable[..., Any]) -> Message:
    """A customer message, with its after-commit hooks run (the billing hook among them)."""
    with capture(execute=True):
        return ticket_add_customer_message(ticket=ticket, body=body)


def after_window(hours: int = 73) -> datetime:
    return timezone.now() + timedelta(hours=hours)


def month_after(moment: datetime) -> tuple[int, int, datetime]:
    """(year, month) of `moment` and a `now` just after that month ended."""
    year, month = moment.year, moment.month
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return year, month, end + timedelta(hours=1)

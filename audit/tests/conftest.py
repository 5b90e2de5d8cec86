"""Synthetic AI runs, written through audit_record as the Agent will, per the agreed vocabulary."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from audit.services import Actor, audit_record
from conftest import make_user
from helpdesk.models import Ticket
from helpdesk.services import ticket_reply

HOSTILE_DRAFT = "Your order A1001 shipped.<script>alert('pwned')</script> <img src=x onerror=alert(2)>"


def record_run(
    ticket: Ticket,
    *,
    run: int = 41,
    confidence: float = 0.91,
    decision: str = "autosend",
    draft: str = HOSTILE_DRAFT,
    approver: Any = None,
    send: bool = True,
) -> None:
    workspace = ticket.workspace
    ai = Actor.ai("oasis-local-1")
    trigger = ticket.messages.order_by("pk").first()

    def record(event_kind: str, **data: Any) -> None:
        audit_record(workspace=workspace, ticket=ticket, actor=ai, kind=event_kind, data={"run": run, **data})

    with transaction.atomic():
        record(
            "ai.run_started",
            trigger_message=trigger.pk if trigger else None,
            kind="agent",
            provider="local",
            model="oasis-local-1",
            prompt_version="reply-v3",
        )
        record(
            "ai.triaged",
            ticket_type="order_status",
            type_confidence=0.93,
            language="en",
            sentiment="neutral",
            sensitive=["card_number"],
            redacted_input="My card [CARD] was charged but order A1001 has not arrived.",
        )
        record(
            "ai.retrieved",
            query="order A1001 not arrived",
            passages=[
                {
                    "passage": 11,
                    "article": 3,
                    "title": "Shipping times",
                    "url": "https://help.acme.test/shipping",
                    "heading": "Delivery windows",
                    "score": 0.8123,
                },
                {"passage": 12, "article": 4, "title": "Sneaky", "url": "javascript:alert(3)", "score": 0.2},
            ],
        )
        record(
            "ai.tool_called",
            tool="lookup_order",
            args={"order": "A1001"},
            status="executed",
            result={"status": "shipped", "carrier": "DHL", "tracking": "JD0123"},
            reason="",
        )
        record(
            "ai.tool_called",
            tool="issue_refund",
            args={"order": "A1001", "amount": "150.00"},
            status="pending_approval",
            result=None,
            reason="refunds over 100.00 need approval",
        )
        record(
            "ai.drafted",
            draft=draft,
            citations=[{"title": "Shipping times", "url": "https://help.acme.test/shipping"}],
            provider="local",
            model="oasis-local-1",
            prompt_version="reply-v3",
        )
        record(
            "ai.scored",
            confidence=confidence,
            raw_confidence=0.88,
            parts={"covered": 0.81, "grounded": 0.95, "triage": 0.93, "action": 1.0, "question": 0.7},
        )
        record(
            "ai.decided",
            decision=decision,
            reason="confidence 0.91 is above the 0.85 threshold for email / order_status",
            threshold=0.85,
            rule={"channel": "email", "ticket_type": "order_status", "autosend_threshold": 0.85},
        )
        record("action.requested", action=5, tool="issue_refund", args={"amount": "150.00"}, amount="150.00", note="")
        if approver is not None:
            audit_record(
                workspace=workspace,
                ticket=ticket,
                actor=Actor.for_user(approver),
                kind="action.approved",
                data={"run": run, "action": 5, "tool": "issue_refund", "amount": "150.00", "note": "Loyal customer"},
            )
    if send:
        ticket_reply(
            ticket=ticket,
            body="Your order A1001 shipped with DHL (JD0123).",
            actor=ai,
            author_kind="ai",
            data={"run": run, "confidence": confidence},
        )


@pytest.fixture
def ai_ticket(ticket: Ticket, manager: Any) -> Ticket:
    record_run(ticket, approver=manager)
    return ticket


@pytest.fixture
def superuser(db: None) -> Any:
    user = make_user("root@oasis.test")
    user.is_staff = user.is_superuser = True
    user.save()
    return user

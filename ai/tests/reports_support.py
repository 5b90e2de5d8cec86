"""A small, hand-countable fixture for the reports: tickets, runs, outcomes, feedback, approvals.

Rows are created directly (the figures read tables, not services); times are relative to now
because audit events (the reopen) are stamped with the real clock and cannot be edited.

Hand-computed figures for the default 30-day period ending today (see EXPECTED):
  13 tickets in the period (T12 is 40 days old)
  10 agent runs on 9 tickets; autosend 2, draft 2, escalate 5, awaiting_approval 1
  outcomes: T1 confirmed (resolved 10 d ago, reopened 10 d later: still durable), T2 billed
            (reopened within 7 d: not durable), T13 credited; T14 voided and T12 (old) excluded
  handoffs: no matching article 3; approval rejected, customer asked, human-needed, low
            confidence, provider failure 1 each
  drafts: sent unchanged 2, edited 1, discarded 2 (wrong, tone); approved verdicts excluded
  approvals: 3 decided (600 s executed, 1800 s rejected, 3600 s approved), 2 pending
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from ai.models import ActionRequest, AgentRun, CalibrationMap, DraftFeedback
from audit.services import Actor, audit_record
from billing.models import Outcome
from billing.services import plan_for
from helpdesk.models import Ticket
from helpdesk.services import ticket_create

GIFT_1 = "Do you offer gift wrapping for a birthday present?"
GIFT_2 = "Can you gift wrap my order as a birthday present?"
WHOLESALE = "How do I become a wholesale partner for your brand?"

EXPECTED: dict[str, Any] = {
    "tickets": 13,
    "runs": 10,
    "tickets_with_runs": 9,
    "decisions": {"autosend": 2, "draft": 2, "escalate": 5, "awaiting_approval": 1},
    "outcomes": 3,
    "durable": 1,
    "charged": 2,
    "cost": Decimal("1.00"),
    "handoffs": [
        ("no_matching_article", 3),
        ("approval_rejected", 1),
        ("customer_asked_for_person", 1),
        ("human_needed_type", 1),
        ("low_confidence", 1),
        ("provider_failure", 1),
    ],
    "verdicts": {"sent_unchanged": 2, "edited": 1, "discarded": 2},
    "median_seconds": 1800.0,
    "p90_seconds": 3240.0,  # percentile_cont: 1800 + 0.8 * (3600 - 1800)
}


def _ticket(workspace: Any, n: int, *, channel: str, ticket_type: str, hours_ago: float, **ai: Any) -> Ticket:
    ticket = ticket_create(
        workspace=workspace,
        channel=channel,
        customer_email=f"c{n}@customer.test",
        customer_name=f"Customer {n}",
        subject=f"T{n} question",
        body=f"Ticket {n} body",
        created_at=timezone.now() - timedelta(hours=hours_ago),
    )
    Ticket.objects.filter(pk=ticket.pk).update(ticket_type=ticket_type, **ai)
    ticket.refresh_from_db()
    return ticket


def _run(ticket: Ticket, decision: str, reason: str = "", *, kind: str = "agent", text: str = "") -> AgentRun:
    run = AgentRun.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        kind=kind,
        status="done",
        decision=decision,
        reason=reason,
        redacted_input=text,
        confidence=0.5,
    )
    AgentRun.objects.filter(pk=run.pk).update(created_at=ticket.created_at + timedelta(minutes=1))
    return run


def _outcome(ticket: Ticket, status: str, *, days_ago: float, price: str = "0.50") -> Outcome:
    resolved = timezone.now() - timedelta(days=days_ago)
    return Outcome.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        status=status,
        ai_replied_at=resolved - timedelta(hours=72),
        window_ends_at=resolved,
        resolved_at=None if status == "voided" else resolved,
        finalized_at=resolved,
        price=Decimal(price),
        currency="USD",
    )


def _feedback(run: AgentRun, verdict: str, reason: str = "") -> None:
    DraftFeedback.objects.create(run=run, verdict=verdict, reason=reason)


def _action(ticket: Ticket, run: AgentRun | None, status: str, *, hours_ago: float, wait: int | None) -> ActionRequest:
    action = ActionRequest.objects.create(
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        run=run,
        tool="issue_refund",
        args={},
        status=status,
        amount=Decimal("20.00"),
        requested_by="ai:local",
    )
    created = timezone.now() - timedelta(hours=hours_ago)
    ActionRequest.objects.filter(pk=action.pk).update(
        created_at=created, decided_at=None if wait is None else created + timedelta(seconds=wait)
    )
    return action


@pytest.fixture
def report_data(workspace, agent, manager) -> dict[str, Any]:
    plan_for(workspace)
    t: dict[int, Ticket] = {}
    t[1] = _ticket(workspace, 1, channel="email", ticket_type="order_status", hours_ago=300, ai_decision="autosend")
    t[2] = _ticket(workspace, 2, channel="email", ticket_type="order_status", hours_ago=200, ai_decision="autosend")
    t[3] = _ticket(
        workspace,
        3,
        channel="chat",
        ticket_type="refund",
        hours_ago=100,
        ai_decision="draft",
        ai_reason="confidence 0.60 below threshold 0.85",
    )
    t[4] = _ticket(
        workspace,
        4,
        channel="chat",
        ticket_type="legal",
        hours_ago=90,
        ai_decision="escalate",
        ai_reason="human-needed type: legal",
    )
    for n, hours in ((5, 80), (6, 70), (7, 60)):
        t[n] = _ticket(
            workspace,
            n,
            channel="email" if n != 7 else "web",
            ticket_type="product_question",
            hours_ago=hours,
            ai_decision="escalate",
            ai_reason="no matching article",
        )
    t[8] = _ticket(
        workspace,
        8,
        channel="email",
        ticket_type="order_status",
        hours_ago=50,
        ai_decision="escalate",
        ai_reason="provider failure: timeout",
    )
    t[9] = _ticket(
        workspace,
        9,
        channel="chat",
        ticket_type="refund",
        hours_ago=40,
        ai_decision="awaiting_approval",
        ai_reason="approval required: refunds over 100.00",
    )
    t[10] = _ticket(
        workspace,
        10,
        channel="chat",
        ticket_type="refund",
        hours_ago=30,
        ai_decision="escalate",
        ai_reason="Rejected issue_refund: over policy",
    )
    t[11] = _ticket(
        workspace,
        11,
        channel="web",
        ticket_type="other",
        hours_ago=20,
        ai_decision="escalate",
        ai_reason="customer asked for a human",
    )
    t[12] = _ticket(
        workspace, 12, channel="email", ticket_type="order_status", hours_ago=40 * 24, ai_decision="autosend"
    )
    t[13] = _ticket(workspace, 13, channel="email", ticket_type="order_status", hours_ago=150, ai_decision="autosend")
    t[14] = _ticket(workspace, 14, channel="email", ticket_type="order_status", hours_ago=140, ai_decision="autosend")

    runs = {
        1: _run(t[1], "autosend"),
        2: _run(t[2], "autosend"),
        3: _run(t[3], "draft", "confidence 0.60 below threshold 0.85"),
        4: _run(t[4], "escalate", "human-needed type: legal"),
        5: _run(t[5], "escalate", "no matching article", text=GIFT_1),
        6: _run(t[6], "escalate", "no matching article", text=GIFT_2),
        7: _run(t[7], "escalate", "no matching article", text=WHOLESALE),
        8: _run(t[8], "escalate", "provider failure: timeout"),
        9: _run(t[9], "awaiting_approval", "approval required"),
    }
    second = _run(t[3], "draft", "confidence 0.55 below threshold 0.85")
    _run(t[1], "draft", kind="copilot")  # a Copilot draft is not an Agent run
    _run(t[12], "autosend")  # outside the period

    _outcome(t[1], "confirmed", days_ago=10)
    _outcome(t[2], "billed", days_ago=3)
    _outcome(t[13], "credited", days_ago=4)
    _outcome(t[14], "voided", days_ago=4)
    _outcome(t[12], "billed", days_ago=37)
    with transaction.atomic():
        # T2 reopened now: 3 days after its resolution, inside the 7-day durability window.
        # T1 reopened now too: 10 days after, so it still counts as durable.
        for n in (1, 2):
            audit_record(
                workspace=workspace,
                ticket=t[n],
                actor=Actor.system("test"),
                kind="ticket.reopened",
                data={"from": "resolved", "to": "open"},
            )

    _feedback(runs[1], "sent_unchanged")
    _feedback(runs[2], "sent_unchanged")
    _feedback(second, "edited")
    _feedback(runs[5], "discarded", "wrong")
    _feedback(runs[6], "discarded", "tone")
    _feedback(runs[9], "approved")  # an approval, not a draft verdict

    CalibrationMap.objects.create(
        workspace=workspace,
        points=[[0, 0], [1, 1]],
        reliability=[
            {"lo": 0.0, "hi": 0.5, "mean_confidence": 0.3, "accuracy": 0.25, "n": 8},
            {"lo": 0.5, "hi": 1.0, "mean_confidence": 0.8, "accuracy": 0.75, "n": 12},
        ],
        ece=0.05,
        samples=20,
    )

    _action(t[9], runs[9], "executed", hours_ago=5, wait=600)
    _action(t[10], None, "rejected", hours_ago=4, wait=1800)
    _action(t[3], runs[3], "approved", hours_ago=3, wait=3600)
    newer = _action(t[9], runs[9], "pending", hours_ago=1, wait=None)
    older = _action(t[10], None, "pending", hours_ago=2, wait=None)
    return {"tickets": t, "runs": runs, "pending": [older.pk, newer.pk]}

"""The demo workspace as a buyer should first see it (connected to `hooks.demo_seeded`).

`seed_demo` builds the shop, the help center and the live inbox; this adds what makes every
headline feature visible without a setting changed: the AI answers on its own (Agent mode)
for chat and e-mail at realistic thresholds, every built-in tool enabled under the default
approval rule, and 90 days of history (resolved tickets with their AI runs, reviewer feedback,
decided approvals, outcomes, invoices for the finished months with a reopen credit), so
reports, calibration, the calculator and finance have data from the first login.

History is written in bulk (a few statements per table) with one audit event that says it is
seeded: no per-row audit storm, no hooks (so no alert, no e-mail, no AI run for the past).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ai.agent.settings import ai_settings_save, confidence_rule_save
from ai.calibration import calibration_refit
from ai.models import (
    ActionRequest,
    ActionStatus,
    AgentRun,
    AISettings,
    ConfidenceRule,
    Decision,
    DraftFeedback,
    FeedbackVerdict,
    RunStatus,
    ShopPolicy,
    ToolPermission,
)
from ai.tools.settings import tool_setting_save
from audit.services import Actor, audit_record
from billing.models import Outcome, OutcomeStatus
from billing.services import invoice_generate, outcome_credit, plan_for
from billing.spend_cap import month_start, next_month
from helpdesk.models import (
    AuthorKind,
    Customer,
    Membership,
    Message,
    MessageKind,
    Ticket,
    TicketStatus,
    Workspace,
    WorkspaceMode,
)
from helpdesk.services import workspace_update

HISTORY_DAYS = 90
# History stops short of the live inbox, so the last day's figures are the live tickets' own.
HISTORY_END_DAYS = 3
# Before this many days ago the workspace ran in Copilot mode; the Agent was switched on then.
COPILOT_UNTIL_DAYS = 45
ACTOR = Actor.system("seed_demo")
THRESHOLDS = (("chat", "", 0.80), ("", "refund", 0.90))  # (channel, type, threshold); default 0.85


@dataclass(frozen=True)
class Story:
    ticket_type: str
    channel: str
    subject: str
    body: str
    reply: str
    refund: str = ""  # an amount: the story is a refund a manager decided


STORIES = (
    Story(
        "order_status",
        "chat",
        "where is my order",
        "Hi, where is my order? It was supposed to arrive by now.",
        "Your order shipped with UPS and is due in 2 business days; the tracking link is in your shipping e-mail.",
    ),
    Story(
        "order_status",
        "email",
        "Delivery date?",
        "When will my order be delivered? I need it before the weekend.",
        "Standard delivery takes 3 to 5 business days after shipping; yours left our warehouse yesterday.",
    ),
    Story(
        "product_question",
        "chat",
        "is the fleece warm enough",
        "Is the Summit fleece warm enough for winter hiking?",
        "The Summit fleece is a mid layer: under a shell it keeps you warm down to about -5 °C.",
    ),
    Story(
        "product_question",
        "email",
        "Sizing question",
        "I am 182 cm and 80 kg, which size of the Ridgeline pants?",
        "For 182 cm and 80 kg our size guide suggests a 32/32 in the Ridgeline pants.",
    ),
    Story(
        "password_reset",
        "chat",
        "cant log in",
        "I can't log in, can you reset my password?",
        "I sent a password-reset link to the e-mail on your account; it is valid for 60 minutes.",
    ),
    Story(
        "account_change",
        "email",
        "New address",
        "Please change the address on my account to 12 Elm St, Boulder.",
        "Done: your account's address is now 12 Elm St, Boulder. Orders already shipped keep their address.",
    ),
    Story(
        "replacement",
        "email",
        "Zipper broken",
        "The zipper of my jacket broke after a week.",
        "Sorry about that! A replacement jacket is on its way; keep the broken one, no return needed.",
    ),
    Story(
        "refund",
        "email",
        "Refund for boots",
        "The boots don't fit, I'd like my money back.",
        "Your refund has been issued to your original payment method.",
        refund="149.00",
    ),
    Story(
        "refund",
        "chat",
        "refund socks",
        "Can I get a refund for the socks? Wrong size.",
        "Your refund of 18.00 USD has been issued to your original payment method.",
    ),
    Story(
        "scheduling",
        "email",
        "Fitting appointment",
        "Can I book a boot fitting next Saturday morning?",
        "You are booked for a boot fitting on Saturday at 10:00 in our Denver store.",
    ),
    Story(
        "complaint",
        "email",
        "Very disappointed",
        "Third time my order is late. I want to speak to a manager.",
        "I am sorry for the delays; a manager will call you today.",
    ),
    Story(
        "troubleshooting",
        "web",
        "Checkout error",
        "Checkout fails with an error every time I pay.",
        "Our team looked into it: the payment page is fixed, please try again.",
    ),
    Story(
        "legal",
        "email",
        "Data request",
        "Under GDPR I request a copy of all data you hold about me.",
        "We received your request and will answer within 30 days as the law requires.",
    ),
    Story("other", "chat", "thanks", "Thanks, all good now!", "Glad to hear it, have a great trip!"),
)
NAMES = (
    "Ava Brooks",
    "Liam Chen",
    "Mia Rossi",
    "Noah Patel",
    "Emma Novak",
    "Lucas Weber",
    "Zoe Martin",
    "Ethan Park",
    "Chloe Dubois",
    "Leo Silva",
    "Isla Murphy",
    "Omar Haddad",
    "Nora Lind",
    "Finn Keller",
    "Ruby Santos",
    "Hugo Laurent",
    "Aria Kim",
    "Jonas Berg",
    "Lena Vogel",
    "Mateo Cruz",
)


def demo_agent_setup(*, workspace: Workspace) -> None:
    """The Agent on for chat and e-mail, realistic thresholds, every built-in tool allowed (the
    default approval rule still holds refunds over 100.00 for a manager)."""
    workspace_update(workspace=workspace, actor=ACTOR, changes={"mode": WorkspaceMode.AGENT})
    ai_settings_save(obj=AISettings(workspace=workspace, default_threshold=0.85), actor=ACTOR)
    for channel, ticket_type, threshold in THRESHOLDS:
        rule = ConfidenceRule(
            workspace=workspace, channel=channel, ticket_type=ticket_type, autosend_threshold=threshold
        )
        confidence_rule_save(rule=rule, actor=ACTOR)
    for permission in ToolPermission.objects.filter(workspace=workspace, enabled=False):
        permission.enabled = True
        tool_setting_save(obj=permission, actor=ACTOR)
    # The demo help center's returns article: free within the United States, $7.95 from Canada.
    policy = ShopPolicy.objects.filter(workspace=workspace).first() or ShopPolicy(workspace=workspace)
    policy.return_fee, policy.return_fee_free_countries = Decimal("7.95"), "USA, United States"
    policy.non_refundable_sku_prefixes = "GC-"  # the shop's gift cards
    tool_setting_save(obj=policy, actor=ACTOR)


@dataclass
class _Row:
    story: Story
    at: dt.datetime
    decision: str
    confidence: float
    ticket: Ticket | None = None


def _decision(story: Story, rng: random.Random, *, copilot: bool) -> tuple[str, float]:
    from helpdesk.models import HUMAN_NEEDED_TYPES

    if story.ticket_type in HUMAN_NEEDED_TYPES:
        return Decision.ESCALATE, rng.uniform(0.02, 0.3)
    if copilot:
        # The first weeks ran in Copilot mode: every answer a draft a person reviewed, whatever
        # its confidence (the feedback on them is what calibrates the scores).
        return Decision.DRAFT, rng.betavariate(5, 1.3)
    if story.refund and Decimal(story.refund) > 100:
        return Decision.AWAITING_APPROVAL, rng.uniform(0.9, 0.99)
    roll = rng.random()
    if roll < 0.62:
        return Decision.AUTOSEND, rng.uniform(0.9, 0.995)
    if roll < 0.88:
        return Decision.DRAFT, rng.uniform(0.35, 0.84)
    return Decision.ESCALATE, rng.uniform(0.02, 0.3)


def _plan(now: dt.datetime, rng: random.Random) -> list[_Row]:
    rows = []
    for days_ago in range(HISTORY_DAYS, HISTORY_END_DAYS, -1):
        for _ in range(rng.choice((2, 3, 3, 4))):
            story = rng.choice(STORIES)
            at = (now - dt.timedelta(days=days_ago)).replace(hour=rng.randint(8, 20), minute=rng.randint(0, 59))
            decision, confidence = _decision(story, rng, copilot=days_ago > COPILOT_UNTIL_DAYS)
            rows.append(_Row(story, at, decision, round(confidence, 4)))
    return sorted(rows, key=lambda r: r.at)


def _set_times(objs: list[Any], fields: tuple[str, ...], times: Sequence[Mapping[str, dt.datetime | None]]) -> None:
    """bulk_create stamps auto_now(_add) fields with the present; history needs its own moments."""
    for obj, values in zip(objs, times, strict=True):
        for name, value in values.items():
            setattr(obj, name, value)
    if objs:
        type(objs[0]).objects.bulk_update(objs, list(fields), batch_size=500)


def _users(workspace: Workspace) -> dict[str, Any]:
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    return {m.role: m.user for m in members}


@transaction.atomic
def demo_history(*, workspace: Workspace, now: dt.datetime | None = None, seed: int = 20) -> dict[str, int]:
    """90 days of resolved work, written in bulk; returns the counts it wrote."""
    now = now or timezone.now()
    rng = random.Random(seed)
    users = _users(workspace)
    agent, manager = users.get("agent"), users.get("manager") or users.get("admin")
    customers = Customer.objects.bulk_create(
        [Customer(workspace=workspace, name=n, email=n.lower().replace(" ", ".") + "@example.com") for n in NAMES]
    )
    rows = _plan(now, rng)
    tickets = Ticket.objects.bulk_create(
        [
            Ticket(
                workspace=workspace,
                number=i + 1,
                customer=rng.choice(customers),
                subject=r.story.subject,
                channel=r.story.channel,
                status=TicketStatus.RESOLVED,
                ticket_type=r.story.ticket_type,
                ai_decision="approved" if r.decision == Decision.AWAITING_APPROVAL else r.decision,
                ai_confidence=r.confidence,
                ai_reason="seeded history",
                last_message_at=r.at + dt.timedelta(hours=2),
                resolved_at=r.at + dt.timedelta(days=1),
            )
            for i, r in enumerate(rows)
        ]
    )
    for row, ticket in zip(rows, tickets, strict=True):
        row.ticket = ticket
    _set_times(tickets, ("created_at", "updated_at"), [{"created_at": r.at, "updated_at": r.at} for r in rows])
    asks = Message.objects.bulk_create(
        [
            Message(ticket=t, kind=MessageKind.CUSTOMER, author_kind=AuthorKind.CUSTOMER, body=r.story.body)
            for r, t in zip(rows, tickets, strict=True)
        ]
    )
    _set_times(asks, ("created_at",), [{"created_at": r.at} for r in rows])
    ai_replied = {Decision.AUTOSEND, Decision.AWAITING_APPROVAL}
    replies = Message.objects.bulk_create(
        [
            Message(
                ticket=r.ticket,
                kind=MessageKind.REPLY,
                author_kind=AuthorKind.AI if r.decision in ai_replied else AuthorKind.AGENT,
                author_user=None if r.decision in ai_replied else agent,
                body=r.story.reply,
            )
            for r in rows
        ]
    )
    reply_at = [r.at + dt.timedelta(minutes=2 if r.decision in ai_replied else 95) for r in rows]
    _set_times(replies, ("created_at",), [{"created_at": at} for at in reply_at])
    runs = AgentRun.objects.bulk_create(
        [
            AgentRun(
                workspace=workspace,
                ticket=r.ticket,
                trigger_message=ask,
                kind="agent",
                status=RunStatus.DONE,
                ticket_type=r.story.ticket_type,
                language="en",
                draft=r.story.reply,
                confidence=r.confidence,
                raw_confidence=r.confidence,
                decision=r.decision,
                reason="seeded history",
                provider="local",
                reply_message=reply if r.decision == Decision.AUTOSEND else None,
            )
            for r, ask, reply in zip(rows, asks, replies, strict=True)
        ]
    )
    run_times = [{"created_at": r.at, "started_at": r.at, "finished_at": r.at + dt.timedelta(seconds=4)} for r in rows]
    _set_times(runs, ("created_at", "started_at", "finished_at"), run_times)
    counts = {"tickets": len(tickets), "runs": len(runs)}
    counts["feedback"] = _feedback(rows, runs, rng, agent)
    counts["approvals"] = _approvals(workspace, rows, runs, manager, rng)
    counts["outcomes"] = _outcomes(workspace, rows, replies, reply_at, now, rng)
    audit_record(
        workspace=workspace,
        actor=ACTOR,
        kind="demo.history_seeded",
        data={**counts, "days": HISTORY_DAYS, "note": "demo history, written in bulk"},
    )
    return counts


def _feedback(rows: list[_Row], runs: list[AgentRun], rng: random.Random, user: Any) -> int:
    """What the team did with the drafts; sent as is about as often as the confidence says."""
    items: list[DraftFeedback] = []
    times: list[dict[str, dt.datetime | None]] = []
    for row, run in zip(rows, runs, strict=True):
        if row.decision != Decision.DRAFT:
            continue
        # Calibration counts only "sent as is" as right, so that is what follows the confidence;
        # even a confident draft gets an edit now and then (acceptance tops out near 94 %).
        accepted = rng.random() < min(row.confidence, 0.94)
        verdict = (
            FeedbackVerdict.SENT_UNCHANGED
            if accepted
            else (FeedbackVerdict.EDITED if rng.random() < 0.6 else FeedbackVerdict.DISCARDED)
        )
        reason = "" if accepted else rng.choice(("wrong", "unhelpful", "tone"))
        items.append(DraftFeedback(run=run, user=user, verdict=verdict, reason=reason))
        times.append({"created_at": row.at + dt.timedelta(minutes=95)})
    created = DraftFeedback.objects.bulk_create(items)
    _set_times(created, ("created_at",), times)
    return len(created)


def _approvals(workspace: Workspace, rows: list[_Row], runs: list[AgentRun], manager: Any, rng: random.Random) -> int:
    items: list[ActionRequest] = []
    times: list[dict[str, dt.datetime | None]] = []
    verdicts: list[DraftFeedback] = []
    for row, run in zip(rows, runs, strict=True):
        if row.decision != Decision.AWAITING_APPROVAL:
            continue
        approved = len(items) % 4 != 1  # most approved, one in four turned down
        items.append(
            ActionRequest(
                workspace=workspace,
                ticket=row.ticket,
                run=run,
                tool="issue_refund",
                args={
                    "order_number": f"OO-{9000 + len(items)}",
                    "amount": row.story.refund,
                    "reason": "customer request",
                },
                amount=Decimal(row.story.refund),
                reply_draft=row.story.reply,
                status=ActionStatus.EXECUTED if approved else ActionStatus.REJECTED,
                rule={"label": "issue refund over 100.00 needs a manager's approval"},
                requested_by="ai:agent",
                decided_by=manager,
                note="" if approved else "outside the return window",
                result={"confirmation": f"RF-DEMO{len(items):04d}"} if approved else {},
            )
        )
        decided = row.at + dt.timedelta(minutes=40)
        times.append({"created_at": row.at, "decided_at": decided, "executed_at": decided if approved else None})
        verdicts.append(
            DraftFeedback(
                run=run, user=manager, verdict=FeedbackVerdict.APPROVED if approved else FeedbackVerdict.REJECTED
            )
        )
    created = ActionRequest.objects.bulk_create(items)
    _set_times(created, ("created_at", "decided_at", "executed_at"), times)
    DraftFeedback.objects.bulk_create(verdicts)
    return len(created)


def _outcomes(
    workspace: Workspace,
    rows: list[_Row],
    replies: list[Message],
    reply_at: list[dt.datetime],
    now: dt.datetime,
    rng: random.Random,
) -> int:
    """Outcomes of the AI's resolutions, invoices for each finished month, and a reopen credit."""
    plan = plan_for(workspace)
    window = dt.timedelta(hours=plan.outcome_window_hours)
    items: list[Outcome] = []
    for row, reply, at in zip(rows, replies, reply_at, strict=True):
        if reply.author_kind != AuthorKind.AI:
            continue
        voided = rng.random() < 0.06
        items.append(
            Outcome(
                workspace=workspace,
                ticket=row.ticket,
                status=OutcomeStatus.VOIDED if voided else OutcomeStatus.CONFIRMED,
                evidence={"ai_replies": [reply.pk], "resolution": None if voided else "silent_window", "seeded": True},
                ai_replied_at=at,
                window_ends_at=at + window,
                resolved_at=None if voided else at + window,
                finalized_at=None if voided else at + window,
                voided_at=at + dt.timedelta(hours=20) if voided else None,
                price=plan.price_per_outcome,
                currency=plan.currency,
            )
        )
    outcomes = Outcome.objects.bulk_create(items)
    this_month = month_start(now)
    months: list[dt.datetime] = []
    first = month_start(min((o.ai_replied_at for o in outcomes), default=this_month))
    while first < this_month:
        months.append(first)
        first = next_month(first)
    for index, month in enumerate(months):
        issue_at = next_month(month) + dt.timedelta(hours=6)
        try:
            invoice_generate(workspace=workspace, year=month.year, month=month.month, actor=ACTOR, now=issue_at)
        except ValidationError:
            continue  # a month without an outcome has no invoice
        if index == len(months) - 2:
            _credit_one(workspace, billed_before=issue_at, credited_at=issue_at + dt.timedelta(days=9))
    calibration_refit(workspace=workspace)
    return len(outcomes)


def _credit_one(workspace: Workspace, *, billed_before: dt.datetime, credited_at: dt.datetime) -> None:
    """A customer came back after their outcome was billed: the next invoice credits it."""
    outcome = Outcome.objects.filter(workspace=workspace, status=OutcomeStatus.BILLED, billed_at__lte=billed_before)
    first = outcome.order_by("-resolved_at").first()
    if first is None:
        return
    outcome_credit(outcome=first, reason="reopened_after_billing", actor=ACTOR)
    # In the story it happened nine days after the invoice: the next month's invoice credits it.
    Outcome.objects.filter(pk=first.pk).update(credited_at=credited_at)


def demo_refunds_answer(workspace_id: int) -> None:
    """Once the seed has committed: the help center indexed and the Agent run on the live refund
    requests now (a second or two), so the manager's first login finds a refund waiting for
    approval; the worker answers the rest of the inbox as it starts."""
    from ai.agent.pipeline import agent_run_for_message
    from ai.index import index_articles
    from helpdesk.models import Article

    index_articles(article_ids=list(Article.objects.filter(workspace_id=workspace_id).values_list("pk", flat=True)))
    asks = Message.objects.filter(
        ticket__workspace_id=workspace_id,
        kind=MessageKind.CUSTOMER,
        ticket__ai_decision="",
        ticket__subject__iregex=r"refund|rembours",
    )
    for message_id in asks.order_by("pk").values_list("pk", flat=True):
        agent_run_for_message(message_id=message_id)


def demo_prepare(workspace: Workspace) -> None:
    """`hooks.demo_seeded`: inside the seed's transaction, before the live tickets arrive."""
    demo_agent_setup(workspace=workspace)
    demo_history(workspace=workspace)
    transaction.on_commit(lambda: demo_refunds_answer(workspace.pk))

"""One Agent run: triage -> retrieve -> act -> draft -> score -> decide, every step audited.

A run belongs to one inbound customer message (unique per message for kind "agent"), so a
retried task finds it and never sends twice: the send step locks the run row and refuses
when a reply is already attached or the run was superseded by a newer message. Any failure
(provider down or slow, malformed output, time budget, a bug) fails the run and hands the
ticket to a human with the reason; nothing is lost silently.

Locks: a transaction's audit rows join the workspace's chain when it commits, under the chain
lock, so a transaction that writes one takes the ticket's row lock first (the order every
helpdesk service uses: ticket row, then audit chain), and holds its locks briefly: no model
inference or HTTP inside it; the steps compute first, then record in short transactions.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Exists, QuerySet
from django.utils import timezone

from ai import tools
from ai.agent import asks as A
from ai.agent.answer import article_sources
from ai.agent.asks import Ask
from ai.agent.confidence import Confidence, score_with
from ai.agent.decide import Verdict, confidence_rules, decide, threshold_from
from ai.agent.grounding import groundedness, split_sentences, unsupported_details
from ai.agent.identity import identity_hold, identity_wanted, with_identity_notice
from ai.agent.lexicon import TROUBLE_RE
from ai.agent.outcomes import COVERED, customer_has_orders, expanded_query, open_asks, step_data, step_outcome
from ai.agent.slots import runs_enqueue
from ai.agent.snapshot import instance_from_json, read_rows
from ai.agent.triage import INJECTION_RE, Triage, triage
from ai.agent.when import fold
from ai.calibration import maps_newest_first
from ai.controls import pause_reason, pauses_in_force
from ai.draft_state import draft_outdated
from ai.models import (
    AgentRun,
    AISettings,
    CalibrationMap,
    Decision,
    HttpAction,
    RunStatus,
    ToolPermission,
)
from ai.providers.chat_base import (
    ChatConfig,
    ChatDraft,
    ChatProvider,
    ChatRequest,
    PlannedCall,
    ProviderError,
    get_chat_provider,
)
from ai.search import search
from ai.tools.planner import Plan
from ai.tools.session import ToolSession
from audit.redaction import redact_text
from audit.services import Actor, audit_record
from helpdesk.helpcenter_render import html_to_text
from helpdesk.models import HUMAN_NEEDED_TYPES, Message, MessageKind, Ticket, TicketType, WorkspaceMode
from helpdesk.services import ticket_reply, ticket_set_type
from helpdesk.services_ai import ticket_record_ai_decision
from helpdesk.services_identity import magic_link_send, verifications_of

logger = logging.getLogger(__name__)

PASSAGES_K = 4
DEFAULT_BUDGET = 30.0
PENDING = (RunStatus.QUEUED, RunStatus.RUNNING)
# Tickets a trial imports carry this external_id prefix; the real Agent never runs on them.
TRIAL_EXTERNAL_PREFIX = "trial:"


class BudgetExceeded(Exception):
    pass


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def chat_config(settings_row: AISettings | None) -> ChatConfig:
    if settings_row is None or settings_row.chat_provider == "local":
        return ChatConfig()
    return ChatConfig(
        provider=settings_row.chat_provider,
        model=settings_row.chat_model,
        base_url=settings_row.chat_base_url,
        api_key_env=settings_row.chat_api_key_env,
        timeout=settings_row.time_budget_seconds,
    )


# --------------------------------------------------------------------------- enqueue


def agent_run_enqueue(message: Message) -> None:
    """Hook handler (runs after the message committed): one queued run, then the task."""
    if message.kind != MessageKind.CUSTOMER:
        return
    if message.ticket.external_id.startswith(TRIAL_EXTERNAL_PREFIX):
        return  # a trial ticket: the trial runner starts its own shadow run (ai/trial/runner.py)
    _run_for_message(message)
    workspace_id = message.ticket.workspace_id
    transaction.on_commit(lambda: runs_enqueue([message.pk], workspace_id=workspace_id))


def _run_for_message(message: Message) -> AgentRun:
    run, created = AgentRun.objects.get_or_create(
        trigger_message=message,
        kind="agent",
        verification=None,  # not the re-run a late proof of identity starts (ai/agent/identity.py)
        defaults={"workspace_id": message.ticket.workspace_id, "ticket_id": message.ticket_id},
    )
    if not created:
        return run  # whoever created it (the enqueue, after commit) superseded the older runs
    # A newer customer message supersedes the ticket's older pending runs: they never send.
    AgentRun.objects.filter(
        ticket_id=message.ticket_id,
        kind="agent",
        status__in=PENDING,
        trigger_message__created_at__lt=message.created_at,
    ).exclude(pk=run.pk).update(status=RunStatus.SUPERSEDED, reason="superseded by a newer message")
    return run


def _newer_customer_message(run: AgentRun, trigger: Message | None = None) -> bool:
    if run.trigger_message_id is None:
        return False
    if trigger is None or trigger.pk != run.trigger_message_id:
        trigger = Message.objects.only("created_at").get(pk=run.trigger_message_id)
    return (
        Message.objects.filter(ticket_id=run.ticket_id, kind=MessageKind.CUSTOMER)
        .filter(created_at__gt=trigger.created_at)
        .exists()
    )


def _claim(message: Message) -> AgentRun | None:
    """In one statement, on the message's Agent run: supersede it while pending when a newer
    customer message exists on its ticket, else claim it if it is queued. The run as written,
    or None when there is no run yet or neither applied (it runs elsewhere, or finished)."""
    table = connection.ops.quote_name(AgentRun._meta.db_table)
    messages = connection.ops.quote_name(Message._meta.db_table)
    newer = (
        f"EXISTS (SELECT 1 FROM {messages} m"  # noqa: S608 (the table name)
        " WHERE m.ticket_id = r.ticket_id AND m.kind = %s AND m.created_at > %s)"
    )
    newer_params: list[Any] = [MessageKind.CUSTOMER, message.created_at]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} r
            SET status = CASE WHEN {newer} THEN %s ELSE %s END,
                reason = CASE WHEN {newer} THEN %s ELSE r.reason END,
                started_at = now(), deferred_at = NULL
            WHERE r.trigger_message_id = %s AND r.kind = %s
              AND (r.status = %s OR (r.status IN (%s, %s) AND {newer}))
            RETURNING row_to_json(r)::text
            """,  # noqa: S608 (table names from the models; values are parameters)
            [
                *newer_params,
                RunStatus.SUPERSEDED,
                RunStatus.RUNNING,
                *newer_params,
                "superseded by a newer message",
                message.pk,
                "agent",
                RunStatus.QUEUED,
                RunStatus.QUEUED,
                RunStatus.RUNNING,
                *newer_params,
            ],
        )
        row = cursor.fetchone()
    return None if row is None else instance_from_json(AgentRun, row[0])


def agent_run_for_message(*, message_id: int) -> AgentRun | None:
    """Run the Agent for one inbound message, at most once (the task calls this)."""
    # The ticket's workspace and customer come along: the run reads both (one query, not three).
    message = Message.objects.select_related("ticket__workspace", "ticket__customer").filter(pk=message_id).first()
    if message is None or message.kind != MessageKind.CUSTOMER:
        return None
    # The enqueue created the run: claim it straight away (one statement, no read first).
    claimed = _claim(message)
    if claimed is None:
        run = _run_for_message(message)  # no run yet, or not claimable: make sure it exists
        claimed = _claim(message)
    if claimed is not None:
        if claimed.status == RunStatus.SUPERSEDED:
            return claimed
        return execute_run(run=claimed, message=message, ticket=message.ticket)
    # Finished, or running elsewhere: left alone. A run whose worker stopped mid-run stays
    # "running" until the task holding its lock or the sweeper fails it (ai/agent/sweep.py).
    return run


# ------------------------------------------------------------------------------- run


@dataclass
class RunContext:
    run: AgentRun
    ticket: Ticket
    message: Message | None
    provider: ChatProvider | None = None
    deadline: float = 0.0
    actor: Actor = field(default_factory=lambda: Actor.ai("local"))
    applies: bool = True  # agent runs change the ticket; copilot and trial runs do not
    shadow: bool = False
    started: bool = False  # "ai.run_started" is in the audit log
    tools: ToolSession | None = None  # the run's reads about its tools, once they are planned
    # Read with the settings at the start of the run (`execute_run`):
    followup: bool = False  # the ticket has a customer message other than this run's
    tool_actions: list[HttpAction] | None = None
    tool_permissions: list[ToolPermission] | None = None
    approved_reply: str = ""  # the reply a manager's approval of a held action sends
    identity: bool = False  # the ticket's customer is verified (helpdesk/services_identity.py)
    identity_wanted: bool = False  # a tool waits for that proof: ask for it (ai/agent/identity.py)

    def lock_ticket(self) -> None:
        """Take the ticket's row lock before this transaction writes any audit row (one lock
        order with the helpdesk services, which lock the ticket and then audit)."""
        if self.applies:
            Ticket.objects.select_for_update(no_key=True).filter(pk=self.ticket.pk).values_list("pk").first()

    def check_budget(self) -> None:
        if time.monotonic() > self.deadline:
            raise BudgetExceeded

    def audit(self, kind: str, data: dict[str, Any]) -> None:
        audit_record(
            workspace=self.ticket.workspace,
            ticket=self.ticket,
            actor=self.actor,
            kind=kind,
            data=_jsonable({"run": self.run.pk, **data}),
        )

    def save(self, *fields: str) -> None:
        self.run.save(update_fields=list(fields))

    def audit_started(self) -> None:
        provider = self.provider
        self.audit(
            "ai.run_started",
            {
                "trigger_message": self.run.trigger_message_id,
                "kind": self.run.kind,
                "provider": provider.name if provider else self.run.provider,
                "model": provider.model if provider else self.run.model,
                "prompt_version": provider.prompt_version if provider else self.run.prompt_version,
            },
        )


_HTML_RE = re.compile(r"</?(?:p|br|div|span|b|i|strong|em|ul|ol|li|a|table|tr|td|h[1-6])\b[^>]*>", re.IGNORECASE)


def message_text(ticket: Ticket, message: Message | None, *, raw: bool = False) -> str:
    """The customer's words the Agent reads: subject and body, a body sent as HTML read as text
    (`raw`: as sent, for the injection check, which must see hidden comments too)."""
    body = message.body if message is not None else ""
    if not body:
        last = ticket.messages.filter(kind=MessageKind.CUSTOMER).order_by("-created_at", "-pk").first()
        body = last.body if last else ""
    if not raw and _HTML_RE.search(body):
        body = html_to_text(body)
    subject = ticket.subject.strip()
    if not subject or body.strip().startswith(subject.rstrip(".…")):
        return body.strip()  # the subject was derived from the body's first line
    return f"{subject}\n\n{body}".strip()


def execute_run(
    *, run: AgentRun, message: Message | None, shadow: bool = False, ticket: Ticket | None = None
) -> AgentRun:
    """Run the steps for a claimed run. `ticket`: the run's ticket with its workspace and customer,
    when the caller just read them (else they are read here)."""
    if ticket is None or ticket.pk != run.ticket_id:
        ticket = Ticket.objects.select_related("workspace", "customer").get(pk=run.ticket_id)
    # The run's settings, its tools' allow-list and HTTP actions, and whether the ticket has
    # another customer message: read together, once (an admin's change applies to the next run).
    ws = ticket.workspace_id
    parts: dict[str, QuerySet[Any]] = {
        "settings": AISettings.objects.filter(workspace_id=ws),
        "identity": verifications_of(ticket)[:1],
        "actions": tools.http_actions(ws),
        "permissions": tools.tool_permissions(ws),
    }
    rows, values = read_rows(parts, {"followup": _other_customer_messages_sql(ticket, message)})
    settings_row = rows["settings"][0] if rows["settings"] else None
    budget = settings_row.time_budget_seconds if settings_row else DEFAULT_BUDGET
    ctx = RunContext(
        run=run,
        ticket=ticket,
        message=message,
        deadline=time.monotonic() + budget,
        applies=run.kind == "agent",
        shadow=shadow or run.kind == "trial",
        followup=bool(values["followup"]),
        tool_actions=rows.get("actions"),
        tool_permissions=rows.get("permissions"),
        identity=bool(rows["identity"]),
    )
    try:
        ctx.provider = get_chat_provider(chat_config(settings_row))
        ctx.actor = Actor.ai(ctx.provider.model)
        _steps(ctx)
    except BudgetExceeded:
        _fail(ctx, reason="time budget exceeded", error=f"the run took longer than {budget:g} s")
    except ProviderError as exc:
        _fail(ctx, reason=f"provider failure: {exc.short}", error=f"{exc.short}: {exc.detail}")
    except Exception as exc:
        logger.exception("agent run %s failed", run.pk)
        _fail(ctx, reason=f"agent error: {type(exc).__name__}", error=str(exc))
    run.refresh_from_db()
    return run


def _steps(ctx: RunContext) -> None:
    """Triage and retrieve, plan the asks and act, answer, score, decide."""
    assert ctx.provider is not None
    run, provider = ctx.run, ctx.provider
    run.provider, run.model, run.prompt_version = provider.name, provider.model, provider.prompt_version
    tri, ticket_type = _triage(ctx)
    passages = _retrieve(ctx, tri)
    _record_triage(ctx, tri, ticket_type, passages)
    plan = _plan(ctx, tri, ticket_type)
    request = _request(ctx, tri, ticket_type, passages, plan)
    chat_plan = provider.plan(request)
    ctx.check_budget()
    entries, held = _run_tools(ctx, _with_model_calls(plan, chat_plan.calls))
    request.steps = step_data(plan, entries, request.sources, tri.redacted_text, customer_has_orders(plan))
    ticket_type = _type_after_policy(ticket_type, request.steps)
    draft = provider.draft(request, chat_plan, entries)
    ctx.check_budget()
    citations = _citations(passages, draft.citations)
    decision_rows = _decision_rows(ctx.ticket, ticket_type)
    calibration = decision_rows["calibration"][0] if decision_rows["calibration"] else None
    confidence = _score(
        tri,
        passages,
        entries,
        draft,
        request.steps,
        calibration,
        customer_email=ctx.ticket.customer.email,
        local=provider.name == "local",
        policy=request.policy,
        articles=[text for _, text in request.sources],
    )
    ctx.check_budget()
    # A tool waited for the customer's proof of identity: the Agent asks for it (in Agent mode).
    ctx.identity_wanted = ctx.applies and ctx.ticket.workspace.mode == WorkspaceMode.AGENT and identity_wanted(entries)
    if ctx.identity_wanted:
        draft = with_identity_notice(draft)
    _record_draft(ctx, draft, citations, entries, confidence, request, ticket_type)
    verdict = _decide(ctx, tri, ticket_type, passages, entries, held, request.steps, confidence, decision_rows, draft)
    _apply(ctx, verdict, confidence, held, entries)


def _triage(ctx: RunContext) -> tuple[Triage, str]:
    from ai.tools.policy import policy_now

    text = message_text(ctx.ticket, ctx.message)
    tri = triage(text, workspace_id=ctx.ticket.workspace_id, customer_email=ctx.ticket.customer.email, now=policy_now())
    tri.injection = tri.injection or bool(INJECTION_RE.search(message_text(ctx.ticket, ctx.message, raw=True)))
    ticket_type = _effective_type(ctx, tri)
    ctx.check_budget()
    return tri, ticket_type


def _retrieve(ctx: RunContext, tri: Triage) -> list[dict[str, Any]]:
    """Help-center passages for the redacted text; an ask's intent adds the words an English help
    center uses for it, so a message in another language still finds its article."""
    query = expanded_query(tri.redacted_text, tri.asks, tri.language)
    hits = search(workspace=ctx.ticket.workspace, query=query, k=PASSAGES_K)
    ctx.check_budget()
    return [
        {
            "n": i,
            "passage": h.passage_id,
            "article": h.article_id,
            "title": h.article_title,
            "url": h.url,
            "heading": h.heading_path,
            "score": round(h.score, 5),
            "text": h.text[:2000],
        }
        for i, h in enumerate(hits, start=1)
    ]


def _record_triage(ctx: RunContext, tri: Triage, ticket_type: str, passages: list[dict[str, Any]]) -> None:
    """Steps 1-2 recorded together, once computed: one short transaction, ticket lock first."""
    run, ticket = ctx.run, ctx.ticket
    with transaction.atomic():
        ctx.lock_ticket()
        run.ticket_type, run.language, run.sentiment = ticket_type, tri.language, tri.sentiment
        run.triage = tri.as_json()
        run.redacted_input = tri.redacted_text
        run.passages = passages
        ctx.save(
            "provider",
            "model",
            "prompt_version",
            "ticket_type",
            "language",
            "sentiment",
            "triage",
            "redacted_input",
            "passages",
        )
        ctx.audit_started()
        ctx.audit(
            "ai.triaged",
            {
                "ticket_type": ticket_type,
                "type_confidence": round(tri.type_confidence, 4),
                "language": tri.language,
                "sentiment": tri.sentiment,
                "sensitive": tri.sensitive,
                "rule": tri.rule,
                "injection": tri.injection,
                "redacted_input": tri.redacted_text,
                "asks": [a.as_json() for a in tri.asks],
            },
        )
        if ctx.applies and ticket_type != ticket.ticket_type:
            updated = ticket_set_type(
                ticket=ticket, ticket_type=ticket_type, actor=ctx.actor, reason=f"triage (run {run.pk})"
            )
            if updated.customer_id == ticket.customer_id:
                updated.customer = ticket.customer  # read with the ticket at the start of the run
            ctx.ticket = updated
        ctx.audit(
            "ai.retrieved",
            {"query": tri.redacted_text, "passages": [{k: v for k, v in p.items() if k != "text"} for p in passages]},
        )
    ctx.started = True


def _plan(ctx: RunContext, tri: Triage, ticket_type: str) -> Plan:
    """One step per ask (ai.tools.planner). Human-needed tickets plan nothing but the hand-over."""
    # The run's reads about its tools (allow-list, connector, identity, orders), read once.
    ctx.tools = tools.ToolSession(
        ticket=ctx.ticket,
        actions=ctx.tool_actions,
        permissions=ctx.tool_permissions,
        identity=ctx.identity,
        simulate_builtin=ctx.run.kind == "trial",
    )
    if ticket_type in HUMAN_NEEDED_TYPES:
        # A person takes the ticket: nothing is planned but the hand-over.
        handover = Ask(A.HUMAN, sentence=tri.redacted_text[:300])
        return tools.plan_asks(ticket=ctx.ticket, asks=[handover], text=tri.redacted_text, session=ctx.tools)
    return tools.plan_asks(ticket=ctx.ticket, asks=tri.asks, text=tri.redacted_text, session=ctx.tools)


def _request(ctx: RunContext, tri: Triage, ticket_type: str, passages: list[dict[str, Any]], plan: Plan) -> ChatRequest:
    from ai.tools.policy import policy_for, policy_now

    ticket, provider = ctx.ticket, ctx.provider
    assert provider is not None
    planned = [PlannedCall(c.tool, dict(c.args)) for c in plan.calls]
    return ChatRequest(
        workspace_id=ticket.workspace_id,
        workspace_name=ticket.workspace.name,
        ticket_type=ticket_type,
        language=tri.language,
        customer_name=ticket.customer.name,
        subject=redact_text(ticket.subject),
        text=tri.redacted_text,
        passages=passages,
        tools=tools.tool_schemas(workspace=ticket.workspace) if provider.name != "local" else [],
        planned=planned,
        deadline=ctx.deadline,
        steps=[s.as_json() for s in plan.steps],
        customer_email=ticket.customer.email,
        sources=article_sources(passages),
        policy=_policy_facts(policy_for(ticket.workspace)),
        today=policy_now().date(),
    )


def _policy_facts(policy: Any) -> dict[str, Any]:
    """What of the written policy a reply may state (and the groundedness check accepts)."""
    return {"return_window_days": policy.return_window_days, "return_fee": str(policy.return_fee)}


def _with_model_calls(plan: Plan, model_calls: list[PlannedCall]) -> list[PlannedCall]:
    """The plan's calls, then any other call the model asked for (checked like the rest)."""
    calls = [PlannedCall(c.tool, dict(c.args)) for c in plan.calls]
    for call in model_calls:
        if not any(c.tool == call.tool and c.args == call.args for c in calls):
            calls.append(call)
        elif call.call_id:
            at = next(i for i, c in enumerate(calls) if c.tool == call.tool and c.args == call.args)
            calls[at] = call  # the model's id, so its tool message answers its own call
    return calls


def _citations(passages: list[dict[str, Any]], cited: list[int]) -> list[dict[str, Any]]:
    """The sources the reply quotes, numbered [1], [2] ... in the order its markers use."""
    by_n = {p["n"]: p for p in passages}
    return [
        {"n": i, "passage": by_n[n]["passage"], "title": by_n[n]["title"], "url": by_n[n]["url"]}
        for i, n in enumerate((n for n in cited if n in by_n), start=1)
    ]


def _record_draft(
    ctx: RunContext,
    draft: ChatDraft,
    citations: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    confidence: Confidence,
    request: ChatRequest,
    ticket_type: str,
) -> None:
    """Steps 4-5 recorded together (the ticket is locked first only when its type changes)."""
    run, provider = ctx.run, ctx.provider
    assert provider is not None
    with transaction.atomic():
        if ticket_type != run.ticket_type:
            ctx.lock_ticket()
            run.ticket_type = ticket_type
            ctx.save("ticket_type")
            if ctx.applies and ticket_type != ctx.ticket.ticket_type:
                customer = ctx.ticket.customer
                ctx.ticket = ticket_set_type(
                    ticket=ctx.ticket, ticket_type=ticket_type, actor=ctx.actor, reason=f"policy check (run {run.pk})"
                )
                ctx.ticket.customer = customer
        run.draft, run.citations, run.tool_calls = draft.reply, citations, _jsonable(entries)
        run.confidence, run.raw_confidence = confidence.value, confidence.raw
        run.confidence_parts = {
            **confidence.parts,
            "calibration_map": confidence.calibration_map,
            "steps": _jsonable([_step_summary(s) for s in request.steps]),
            "unsupported": draft.unsupported,
        }
        ctx.save("draft", "citations", "tool_calls", "confidence", "raw_confidence", "confidence_parts")
        ctx.audit(
            "ai.drafted",
            {
                "draft": draft.reply,
                "citations": [{"title": c["title"], "url": c["url"]} for c in citations],
                "provider": provider.name,
                "model": provider.model,
                "prompt_version": provider.prompt_version,
            },
        )
        ctx.audit(
            "ai.scored",
            {
                "confidence": confidence.value,
                "raw_confidence": confidence.raw,
                "parts": confidence.parts,
                "steps": [_step_summary(s) for s in request.steps],
            },
        )
    ctx.approved_reply = draft.reply_if_approved or draft.reply


def _step_summary(step: dict[str, Any]) -> dict[str, Any]:
    return {
        "intent": step.get("intent"),
        "tool": step.get("tool") or "",
        "outcome": step_outcome(step),
        "problem": step.get("problem") or "",
    }


def _decide(
    ctx: RunContext,
    tri: Triage,
    ticket_type: str,
    passages: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    held: list[tuple[Any, Any, dict[str, Any]]],
    steps: list[dict[str, Any]],
    confidence: Confidence,
    decision_rows: dict[str, list[Any]],
    draft: ChatDraft,
) -> Verdict:
    run, ticket = ctx.run, ctx.ticket
    threshold, rule = threshold_from(
        rules=decision_rows["confidence_rules"],
        settings_row=decision_rows["settings"][0] if decision_rows["settings"] else None,
    )
    approval = next((e.get("rule") or {"label": e["reason"]} for _, _, e in held if e.get("requires_approval")), None)
    if approval is None and ticket_type not in HUMAN_NEEDED_TYPES:
        approval = tools.approval_required_for_reply(ticket=ticket, rules=decision_rows["approval_rules"])
    escalation = next((e for e in entries if e["tool"] == "escalate_to_human" and e["status"] == "executed"), None)
    verdict = decide(
        # A trial answers "what would the Agent do": the Agent mode is on for it, whatever the
        # workspace's real mode (which the trial never changes).
        mode=WorkspaceMode.AGENT if run.kind == "trial" else ticket.workspace.mode,
        ticket_type=ticket_type,
        confidence=confidence.value,
        threshold=threshold,
        rule=rule,
        has_sources=bool(passages) or any(_is_fact(e) for e in entries) or _needs_no_source(steps),
        injection=tri.injection,
        approval=approval,
        open_asks=open_asks(steps),
        unsupported=draft.unsupported,
    )
    if escalation is not None and verdict.decision != Decision.ESCALATE:
        verdict = Verdict(
            Decision.ESCALATE, f"escalation requested: {escalation['args'].get('reason', '')}"[:300], threshold, rule
        )
    # The kill switch: while paused, nothing is sent and no write action runs; drafts go on for humans.
    paused = pause_reason(decision_rows["pauses"][0] if decision_rows["pauses"] else None)
    if paused and ctx.applies and verdict.decision in (Decision.AUTOSEND, Decision.AWAITING_APPROVAL):
        verdict = Verdict(Decision.DRAFT, paused, threshold, {**rule, "paused": True})
    if ctx.identity_wanted:
        verdict = identity_hold(verdict, ticket=ctx.ticket)
    return verdict


def _type_after_policy(ticket_type: str, steps: list[dict[str, Any]]) -> str:
    """An ask the written policy forbids, checked against the order's data, makes the ticket a
    policy exception (a person decides), whatever words the customer used."""
    if ticket_type not in HUMAN_NEEDED_TYPES and any(step_outcome(s) == "policy" for s in steps):
        return TicketType.POLICY_EXCEPTION
    return ticket_type


def _needs_no_source(steps: list[dict[str, Any]]) -> bool:
    """A thank-you, or an action done, needs no help-center article to answer."""
    return bool(steps) and all(step_outcome(s) in ("done", "queued") for s in steps)


def _decision_rows(ticket: Ticket, ticket_type: str) -> dict[str, list[Any]]:
    """What the score and the decision read (the latest calibration map, the threshold rules and
    default, the reply approval rules, the deciding pause), in one statement, with the same
    querysets their modules use alone."""
    ws, channel = ticket.workspace_id, ticket.channel
    parts: dict[str, QuerySet[Any]] = {
        "calibration": maps_newest_first(ws)[:1],
        "confidence_rules": confidence_rules(workspace_id=ws, channel=channel, ticket_type=ticket_type),
        "settings": AISettings.objects.filter(workspace_id=ws),
        "pauses": pauses_in_force(workspace_id=ws, channel=channel)[:1],
        "approval_rules": tools.reply_rules(ws),
    }
    rows, _ = read_rows(parts)
    return rows


def _is_fact(entry: dict[str, Any]) -> bool:
    """A read tool that ran and returned something the reply can state (an order, say)."""
    return (
        entry.get("status") == "executed"
        and entry.get("kind") == "read"
        and entry.get("tool") != "escalate_to_human"
        and bool(entry.get("result"))
    )


def _other_customer_messages_sql(ticket: Ticket, message: Message | None) -> tuple[str, list[Any]]:
    """Whether the ticket has a customer message other than `message`, as SQL for `read_rows`."""
    sql = (
        f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(Message._meta.db_table)} m"  # noqa: S608 (table name)
        " WHERE m.ticket_id = %s AND m.kind = %s"
    )
    params: list[Any] = [ticket.pk, MessageKind.CUSTOMER]
    if message is not None:
        sql += " AND m.id <> %s"
        params.append(message.pk)
    return sql + ")", params


def _effective_type(ctx: RunContext, tri: Triage) -> str:
    """Triage labels a new ticket; on a follow-up a type already set (by a human) stands,
    unless the new message is itself human-needed (a legal threat arriving later)."""
    current = ctx.ticket.ticket_type
    first = not ctx.followup
    if first or current == TicketType.OTHER or tri.ticket_type in HUMAN_NEEDED_TYPES or tri.rule:
        return tri.ticket_type
    return current


def _run_tools(
    ctx: RunContext, calls: list[PlannedCall]
) -> tuple[list[dict[str, Any]], list[tuple[Any, Any, dict[str, Any]]]]:
    entries: list[dict[str, Any]] = []
    held: list[tuple[Any, Any, dict[str, Any]]] = []
    for planned in calls:
        entry: dict[str, Any] = {"tool": planned.tool, "args": _jsonable(planned.args), "call_id": planned.call_id}
        entries.append(entry)
        call = tools.ToolCall(planned.tool, dict(planned.args))
        check = tools.tool_check(ticket=ctx.ticket, call=call, session=ctx.tools)
        entry.update(
            kind=check.kind,
            requires_approval=check.requires_approval,
            rule=_jsonable(check.rule),
            amount=str(check.amount) if check.amount is not None else None,
            not_enabled=check.not_enabled,
        )
        if not check.allowed or check.kind == "read":
            # A refused call still goes through the runner, which audits the refusal; a read runs
            # on the check just made (the session), a write is held and checked again when it runs.
            result = tools.tool_execute(
                ticket=ctx.ticket,
                call=call,
                actor=ctx.actor,
                run=ctx.run,
                shadow=ctx.shadow or not check.allowed,
                session=ctx.tools,
            )
            entry.update(status=result.status, result=_jsonable(result.result), reason=result.reason)
        else:
            entry.update(status="held", result={}, reason=check.reason)
            held.append((call, check, entry))
        ctx.check_budget()
    return entries, held


def _score(
    tri: Triage,
    passages: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    draft: ChatDraft,
    steps: list[dict[str, Any]],
    calibration: CalibrationMap | None,
    *,
    customer_email: str,
    local: bool,
    policy: dict[str, Any],
    articles: list[str],
) -> Confidence:
    """P(this reply resolves the ticket), from what was asked and what was done about it."""
    outcomes = [step_outcome(s) for s in steps] or ["unanswered"]
    covered = sum(1 for o in outcomes if o in COVERED) / len(outcomes)
    actions = [o for s, o in zip(steps, outcomes, strict=False) if s.get("tool") and s.get("kind") != "read"]
    questions = [s for s in steps if s.get("intent") in ("question", "other")]
    # The articles whole, not only the retrieved passages: a quote comes from its article as
    # written (a table row may sit in a passage other than the one that cites the article).
    sources = (
        [p["text"] for p in passages]
        + articles
        + [
            json.dumps({"args": e.get("args"), "result": e.get("result"), "order": e.get("order")}, default=str)
            for e in entries
            if e.get("status") in ("executed", "simulated", "held", "pending_approval")
        ]
    )
    sources += [json.dumps(s.get("order") or {}, default=str) for s in steps]
    sources += [f"{s.get('sentence', '')} {json.dumps(s.get('args') or {})}" for s in steps]
    sources.append(json.dumps(policy, default=str))
    draft.unsupported = unsupported_details(_body(draft.reply), [*sources, customer_email])
    grounded = 0.0 if draft.unsupported else 1.0
    if not local:
        # A model's own sentences must also say what a source says, not only reuse its numbers.
        claims = draft.sentences or split_sentences(_body(draft.reply), min_words=4)
        grounded = min(grounded, groundedness(claims, sources)[0]) if claims else grounded
    return score_with(
        calibration=calibration,
        parts={
            "covered": covered,
            "all_covered": 1.0 if covered == 1.0 else 0.0,
            "action": (1.0 if all(o in ("done", "queued") for o in actions) else 0.0) if actions else 0.5,
            "blocked": 1.0 if any(o not in COVERED and o != "unanswered" for o in outcomes) else 0.0,
            "question": min((float(s.get("quote_score") or 0.0) for s in questions), default=1.0),
            "questions": len(questions) / len(outcomes),
            "triage": tri.type_confidence,
            "margin": tri.margin,
            "grounded": grounded,
            # Replies are written in every language, help-center quotes only in the help center's:
            # an answer that rests on a quote is weaker for a customer writing another language.
            "english": 1.0 if tri.language == "en" or not questions else 0.0,
            "trouble": 1.0 if TROUBLE_RE.search(fold(tri.redacted_text)) else 0.0,
            "multi": 1.0 if len(steps) > 1 else 0.0,
            "act_done": 1.0 if all(o in ("done", "queued") for o in outcomes) else 0.0,
            "lookup": sum(1 for s in steps if s.get("kind") == "read" and step_outcome(s) == "answered")
            / len(outcomes),
        },
    )


def _body(reply: str) -> str:
    """A reply minus greeting and sign-off (the workspace's name may hold digits of its own)."""
    lines = [line for line in reply.splitlines() if line.strip()]
    if lines and lines[0].rstrip().endswith((",", ":")) and len(lines[0].split()) <= 4:
        lines = lines[1:]
    if len(lines) >= 2 and len(lines[-2].split()) <= 3:
        lines = lines[:-2]
    return "\n".join(lines)


def _lock_run(run: AgentRun) -> tuple[str, int | None]:
    """Lock the run's row (after the ticket's) and read what decides whether it may still act:
    its status and reply (not the whole row: its JSON columns are large)."""
    status, reply_id, _ = _lock_run_and_check(run, check_newer=False)
    return status, reply_id


def _lock_run_and_check(
    run: AgentRun, *, check_newer: bool, trigger: Message | None = None
) -> tuple[str, int | None, bool]:
    """`_lock_run`, and (`check_newer`) whether a customer message newer than the run's trigger
    arrived on the ticket, in one statement when the caller has the trigger message. The caller
    holds the ticket's row lock, which a new customer message takes too."""
    runs = AgentRun.objects.select_for_update().filter(pk=run.pk)
    if check_newer and trigger is not None and trigger.pk == run.trigger_message_id:
        newer = Message.objects.filter(
            ticket_id=run.ticket_id, kind=MessageKind.CUSTOMER, created_at__gt=trigger.created_at
        )
        status, reply_id, found = (
            runs.annotate(newer=Exists(newer)).values_list("status", "reply_message_id", "newer").get()
        )
        return str(status), reply_id, bool(found)
    status, reply_id = runs.values_list("status", "reply_message_id").get()
    return str(status), reply_id, check_newer and _newer_customer_message(run, trigger)


def _apply(
    ctx: RunContext,
    verdict: Verdict,
    confidence: Confidence,
    held: list[tuple[Any, Any, dict[str, Any]]],
    entries: list[dict[str, Any]],
) -> None:
    run, ticket = ctx.run, ctx.ticket
    with transaction.atomic():
        ctx.lock_ticket()
        status, reply_id, newer = _lock_run_and_check(run, check_newer=ctx.applies, trigger=ctx.message)
        if status != RunStatus.RUNNING or reply_id is not None:
            return  # superseded, or a retry already finished it: never act twice
        if newer:
            AgentRun.objects.filter(pk=run.pk).update(
                status=RunStatus.SUPERSEDED, reason="superseded by a newer message"
            )
            return
        if ctx.identity_wanted:
            magic_link_send(ticket=ticket, actor=ctx.actor)  # to the address on file, after commit
        if ctx.applies and verdict.decision in (Decision.AUTOSEND, Decision.AWAITING_APPROVAL):
            # A person answered (or closed the ticket) while the run worked: never a second answer.
            run.ticket = Ticket.objects.get(pk=ticket.pk)  # as it is now, under the row lock
            answered = draft_outdated(run)
            if answered:
                verdict = Verdict(Decision.DRAFT, f"not sent: {answered}", verdict.threshold, verdict.rule)
        if ctx.applies and verdict.decision == Decision.AUTOSEND:
            verdict = _autosend(ctx, verdict, confidence, held)
        elif ctx.applies and verdict.decision == Decision.AWAITING_APPROVAL:
            _request_approval(ctx, verdict, held)
        for _, _, entry in held:
            if entry["status"] == "held" and ctx.shadow and entry.get("requires_approval"):
                # Shadow: a rule would hold it for a manager, but no ActionRequest is created.
                entry["status"] = "pending_approval"
                entry["reason"] = f"shadow: would wait for approval ({entry.get('reason', '')})"[:300]
            elif entry["status"] == "held":
                entry["status"] = "simulated"  # proposed to a human, not executed
                entry["reason"] = f"proposed, not executed ({verdict.decision})"
        run.tool_calls = _jsonable(entries)
        run.decision, run.reason, run.rule = verdict.decision, verdict.reason[:300], _jsonable(verdict.rule)
        run.status, run.finished_at = RunStatus.DONE, timezone.now()
        ctx.save("tool_calls", "decision", "reason", "rule", "status", "finished_at", "reply_message")
        ctx.audit(
            "ai.decided",
            {
                "decision": verdict.decision,
                "reason": verdict.reason,
                "threshold": verdict.threshold,
                "rule": verdict.rule,
            },
        )
        if ctx.applies:
            ticket_record_ai_decision(
                ticket=ticket,
                decision=verdict.decision,
                confidence=confidence.value,
                reason=verdict.reason,
                actor=ctx.actor,
                run=run.pk,
            )


def _autosend(
    ctx: RunContext, verdict: Verdict, confidence: Confidence, held: list[tuple[Any, Any, dict[str, Any]]]
) -> Verdict:
    for call, _, entry in held:
        result = tools.tool_execute(ticket=ctx.ticket, call=call, actor=ctx.actor, run=ctx.run)
        entry.update(status=result.status, result=_jsonable(result.result), reason=result.reason)
        if result.status != "executed":
            return Verdict(
                Decision.ESCALATE,
                f"tool {call.tool} {result.status}: {result.reason}"[:300],
                verdict.threshold,
                verdict.rule,
            )
    message = ticket_reply(
        ticket=ctx.ticket,
        body=ctx.run.draft,
        actor=ctx.actor,
        author_kind="ai",
        data={"run": ctx.run.pk, "confidence": confidence.value},
        sources=ctx.run.citations,
    )
    ctx.run.reply_message = message
    return verdict


def _request_approval(ctx: RunContext, verdict: Verdict, held: list[tuple[Any, Any, dict[str, Any]]]) -> None:
    gated = [(call, check, entry) for call, check, entry in held if entry.get("requires_approval")]
    if not gated:
        # A type-only rule: the reply itself waits for a manager.
        call = tools.ToolCall(tools.REPLY_TOOL, {})
        check = tools.ToolCheck(
            call=call,
            allowed=True,
            kind="write",
            reason=verdict.reason,
            requires_approval=True,
            rule=verdict.rule.get("approval"),
            amount=None,
        )
        tools.action_request_create(
            ticket=ctx.ticket,
            run=ctx.run,
            call=call,
            check=check,
            reply_draft=ctx.approved_reply or ctx.run.draft,
            actor=ctx.actor,
        )
        return
    for call, check, entry in gated:
        action = tools.action_request_create(
            ticket=ctx.ticket,
            run=ctx.run,
            call=call,
            check=check,
            reply_draft=ctx.approved_reply or ctx.run.draft,
            actor=ctx.actor,
        )
        entry.update(status="pending_approval", action_request=action.pk)


def agent_run_abandon(*, run: AgentRun, reason: str, actor: Actor) -> bool:
    """Fail a run that stopped making progress (its worker died, or it outlived its budget) the
    way a run fails by itself: the run failed with the reason, the ticket handed to a human,
    audited. Nothing when it is no longer running (finished, superseded, failed already) or has
    a reply; True when it failed it. A worker still busy with it then finds it failed and never
    sends or escalates (`_apply`, `_fail`)."""
    ticket = Ticket.objects.select_related("workspace").get(pk=run.ticket_id)
    # Its steps 1-2 record "ai.run_started" with the provider: an empty one means not yet.
    ctx = RunContext(run=run, ticket=ticket, message=None, actor=actor, started=bool(run.provider))
    return _fail(ctx, reason=reason, error=reason)


def _fail(ctx: RunContext, *, reason: str, error: str) -> bool:
    run = ctx.run
    with transaction.atomic():
        ctx.lock_ticket()
        status, reply_id = _lock_run(run)
        if status != RunStatus.RUNNING or reply_id is not None:
            return False  # finished, superseded, or failed already (by the sweeper, say): once only
        run.status, run.decision, run.reason = RunStatus.FAILED, Decision.ESCALATE, reason[:300]
        run.error = redact_text(error)[:4000]
        run.finished_at = timezone.now()
        ctx.save("status", "decision", "reason", "error", "finished_at")
        if not ctx.started:  # failed before its first record: the trail still says it started
            ctx.audit_started()
        ctx.audit("ai.failed", {"error": redact_text(error)[:500], "reason": reason})
        ctx.audit("ai.decided", {"decision": Decision.ESCALATE, "reason": reason, "threshold": None, "rule": {}})
        if ctx.applies:
            ticket_record_ai_decision(
                ticket=ctx.ticket,
                decision=Decision.ESCALATE,
                confidence=None,
                reason=reason,
                actor=ctx.actor,
                run=run.pk,
            )
    return True

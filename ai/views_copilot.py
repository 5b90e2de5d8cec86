"""The Copilot sidebar of the ticket page, and the cheap live-update poll.

The sidebar is the UI over `ai.copilot` and `ai.tools`: it reuses the AI run made for the
ticket's latest customer message (the Agent's, or an earlier Copilot draft) so reopening a
ticket never re-runs the model; Regenerate asks for a new one. Every button ends in a
service call that records feedback and audits it; running a suggested tool goes through the
same allow-list and approval gates as the Agent.

The helpdesk's inbox knows none of this: `AIConfig.ready` registers these URLs under its
namespace, the approvals box, the version key and the reply-from-draft through
`helpdesk.hooks` (see `register_inbox`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from ai.agent.decide import threshold_for
from ai.confidence_words import confidence_reasons
from ai.copilot import copilot_refresh, draft_feedback_record, draft_outdated, next_steps, summarize
from ai.models import ActionRequest, ActionStatus, AgentRun, DraftFeedback, RunStatus
from ai.tools import ToolCall, action_request_create, tool_check, tool_execute
from ai.tools.describe import action_words
from audit.services import Actor
from audit.timeline import safe_url
from helpdesk import hooks, services
from helpdesk.access import ticket_for_user
from helpdesk.citations import same_text, strip_markers
from helpdesk.forms import DISCARD_REASONS, CopilotRunForm, DiscardForm, ToolRunForm
from helpdesk.models import Membership, Message, MessageKind, Ticket, TicketStatus
from helpdesk.views import TICKET_TEMPLATE, is_partial, thread_of, ticket_context

COPILOT_TEMPLATE = "helpdesk/copilot.html"
RUN_KINDS = ("copilot", "agent")
PENDING_RUN = (RunStatus.QUEUED, RunStatus.RUNNING)
SENT_VERDICTS = ("sent_unchanged", "edited", "approved")
# How far below the threshold the meter turns from amber to red.
RED_MARGIN = 0.2


# ------------------------------------------------------------------------ the cached run


def latest_customer_message_id(ticket: Ticket) -> int | None:
    return (
        Message.objects.filter(ticket=ticket, kind=MessageKind.CUSTOMER)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )


def sidebar_run(ticket: Ticket, trigger_id: int | None) -> AgentRun | None:
    """The newest Copilot or Agent run about the latest customer message: the cache key is
    that message, so a new customer message (and only that, or Regenerate) makes a new run."""
    if trigger_id is None:
        return None
    return (
        AgentRun.objects.filter(ticket=ticket, trigger_message_id=trigger_id, kind__in=RUN_KINDS)
        .exclude(status=RunStatus.SUPERSEDED)
        .order_by("-created_at", "-pk")
        .first()
    )


def _run_of(ticket: Ticket, run_id: int) -> AgentRun:
    run = AgentRun.objects.filter(pk=run_id, ticket=ticket).first()
    if run is None:
        raise Http404("No such AI run on this ticket.")
    return run


# -------------------------------------------------------------------- what the sidebar shows


@dataclass(frozen=True)
class Meter:
    value: float
    threshold: float
    band: str  # red | amber | green
    band_label: str

    @property
    def percent(self) -> int:
        return round(self.value * 100)

    @property
    def red_edge(self) -> int:
        return round(max(0.0, self.threshold - RED_MARGIN) * 100)

    @property
    def threshold_percent(self) -> int:
        return round(self.threshold * 100)

    @property
    def green_right(self) -> int:
        return 100 - self.threshold_percent

    @property
    def amber_width(self) -> int:
        return self.threshold_percent - self.red_edge


def confidence_meter(value: float, threshold: float) -> Meter:
    """Colour bands around the threshold that decides autosend for this channel and type."""
    if value >= threshold:
        return Meter(value, threshold, "green", "Above threshold")
    if value >= threshold - RED_MARGIN:
        return Meter(value, threshold, "amber", "Below threshold")
    return Meter(value, threshold, "red", "Far below threshold")


def _citations(run: AgentRun) -> list[dict[str, Any]]:
    """Cited passages with the section they come from (two passages of one article differ there)."""
    headings = {p.get("passage"): str(p.get("heading", "")) for p in run.passages or []}
    cited = []
    for c in run.citations or []:
        parts = [part.strip() for part in headings.get(c.get("passage"), "").split(">")]
        section = parts[-1] if len(parts) > 1 else ""
        # Only http(s) and site links become links: a stored javascript: URL stays text.
        cited.append({"title": c.get("title", ""), "url": safe_url(c.get("url")), "section": section})
    return cited


def _decided_actions(run: AgentRun) -> dict[tuple[str, str], ActionRequest]:
    """The run's held actions by (tool, args), so a call a manager decided shows that decision."""
    actions = ActionRequest.objects.filter(run=run).exclude(status=ActionStatus.PENDING).order_by("pk")
    return {(a.tool, json.dumps(a.args, sort_keys=True)): a for a in actions}


def _proposed_calls(ticket: Ticket, run: AgentRun) -> list[dict[str, Any]]:
    calls = []
    decided = _decided_actions(run)
    currency = ticket.workspace.currency
    for index, entry in enumerate(run.tool_calls or []):
        tool = str(entry.get("tool", ""))
        args = entry.get("args") or {}
        words = action_words(tool, args, currency)
        action = decided.get((tool, json.dumps(args, sort_keys=True)))
        status = action.status if action is not None else entry.get("status", "")
        call: dict[str, Any] = {"index": index, "tool": tool, "args": args, "words": words, "status": status}
        if action is not None or status == "executed":
            # Done (or decided) already: a re-check would judge the changed order ("already
            # refunded") and show the AI's own finished action as refused.
            outcome = action.get_status_display() if action is not None else "Done"
            by = f" by {action.decided_by.email}" if action is not None and action.decided_by else ""
            call.update(done=True, outcome=f"{outcome}{by}", kind="", allowed=True, requires_approval=False)
            calls.append({**call, "reason": "", "runnable": False})
            continue
        check = tool_check(ticket=ticket, call=ToolCall(tool, dict(args)))
        call.update(done=False, kind=check.kind, allowed=check.allowed, requires_approval=check.requires_approval)
        # What already happened needs no button: a read that ran, a request queued.
        runnable = check.allowed and status not in ("executed", "pending_approval")
        calls.append({**call, "reason": check.reason, "runnable": runnable})
    return calls


FINAL_STATES = {
    "autosend": "The AI answered this ticket on its own",
    "approved": "A manager approved the AI's action and its reply went out",
    "escalate": "The AI handed this ticket to a person",
    "awaiting_approval": "The AI's action was never decided",
}


def final_state(ticket: Ticket) -> str:
    """What the AI did, in words, once the ticket is resolved or closed (drafts are history then)."""
    if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return ""
    done = FINAL_STATES.get(ticket.ai_decision, "The team answered this ticket; the AI's draft was not sent as is")
    if not ticket.ai_decision:
        done = "The team answered this ticket"
    return f"{ticket.get_status_display()}. {done}."


def copilot_context(
    request: HttpRequest, ticket: Ticket, run: AgentRun | None, *, notice: str = "", error: str = ""
) -> dict[str, Any]:
    pending_actions = list(
        ActionRequest.objects.filter(ticket=ticket, status=ActionStatus.PENDING).order_by("created_at")
    )
    context: dict[str, Any] = {
        "ticket": ticket,
        "run": run,
        "notice": notice,
        "error": error,
        "pending_actions": [(a, action_words(a.tool, a.args, ticket.workspace.currency)) for a in pending_actions],
        "discard_reasons": DISCARD_REASONS,
        "drafting": run is not None and run.status in PENDING_RUN,
        "timeline_url": reverse("audit:ticket_timeline", args=[ticket.pk]),
        "final_state": final_state(ticket),
        "outdated": draft_outdated(run) if run is not None else "",
        "draft_plain": strip_markers(run.draft) if run is not None else "",
    }
    if run is None or run.status in PENDING_RUN:
        context["summary"] = summarize(ticket)
        return context
    stored = (run.triage or {}).get("copilot", {})
    steps = stored.get("next_steps") or next_steps(ticket, run)
    feedback = DraftFeedback.objects.filter(run=run).order_by("-created_at", "-pk").first()
    meter = None
    if run.confidence is not None:
        threshold, _ = threshold_for(
            workspace=ticket.workspace, channel=ticket.channel, ticket_type=run.ticket_type or ticket.ticket_type
        )
        meter = confidence_meter(run.confidence, threshold)
    context.update(
        summary=stored.get("summary") or summarize(ticket),
        meter=meter,
        reasons=confidence_reasons(run.confidence_parts or {}),
        citations=_citations(run),
        calls=_proposed_calls(ticket, run),
        articles=[{**a, "url": safe_url(a.get("url"))} for a in steps.get("articles", [])],
        escalate=steps.get("escalate", False),
        escalate_reason=steps.get("reason", ""),
        feedback=feedback,
        feedback_reason=dict(DISCARD_REASONS).get(feedback.reason, "") if feedback else "",
        # Sent already (by the AI, or by a person as is or edited): history, with no send button.
        draft_sent=bool(run.reply_message_id) or (feedback is not None and feedback.verdict in SENT_VERDICTS),
        run_anchor=f"{context['timeline_url']}#run-{run.pk}",
    )
    return context


def _render_sidebar(request: HttpRequest, ticket: Ticket, run: AgentRun | None, **extra: Any) -> HttpResponse:
    context = copilot_context(request, ticket, run, **extra)
    status = 400 if extra.get("error") else 200
    if is_partial(request):
        return render(request, f"{COPILOT_TEMPLATE}#sidebar", context, status=status)
    return render(request, COPILOT_TEMPLATE, context, status=status)


def _copilot_url(ticket: Ticket) -> str:
    return reverse("helpdesk:ticket_copilot", args=[ticket.pk])


# ------------------------------------------------------------------------------ endpoints


@login_required
@require_GET
def copilot(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The sidebar (HTMX) or, without JavaScript, the same parts as a full page."""
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    trigger_id = latest_customer_message_id(ticket)
    run = sidebar_run(ticket, trigger_id)
    # A resolved ticket shows what happened; it gets no fresh draft.
    if run is None and trigger_id is not None and not final_state(ticket):
        copilot_refresh(ticket=ticket, user=request.user)
        run = sidebar_run(ticket, trigger_id)
    return _render_sidebar(request, ticket, run)


@login_required
@require_POST
def copilot_regenerate(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    trigger_id = latest_customer_message_id(ticket)
    if trigger_id is None:
        return _render_sidebar(request, ticket, None, error="There is no customer message to answer yet.")
    payload = copilot_refresh(ticket=ticket, user=request.user)
    run = _run_of(ticket, int(payload["run"]))
    if not is_partial(request):
        return HttpResponseRedirect(_copilot_url(ticket))
    return _render_sidebar(request, ticket, run, notice="A fresh draft is ready.")


@login_required
@require_POST
def copilot_discard(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    form = DiscardForm(request.POST)
    if not form.is_valid():
        run = sidebar_run(ticket, latest_customer_message_id(ticket))
        return _render_sidebar(request, ticket, run, error="Choose why the draft is discarded.")
    run = _run_of(ticket, form.cleaned_data["run"])
    draft_feedback_record(run=run, user=request.user, verdict="discarded", reason=form.cleaned_data["reason"])
    if not is_partial(request):
        return HttpResponseRedirect(_copilot_url(ticket))
    return _render_sidebar(request, ticket, run, notice="Draft discarded. Thanks: this feedback tunes the AI.")


def reply_from_draft(*, ticket: Ticket, run: AgentRun, body: str, user: Any, as_is: bool = False) -> Message:
    """A human reply that started as an AI draft: the reply and its feedback label commit together.

    The verdict compares the text sent with the draft (whitespace and citation markers aside),
    so "Insert, then send without touching it" counts as sent unchanged. `as_is` ("Send as
    is") refuses a draft that no longer answers the conversation: checked under the ticket's
    row lock, so of two clicks (two tabs, two people) only the first sends."""
    verdict = "sent_unchanged" if same_text(body, run.draft) else "edited"
    with transaction.atomic():
        if as_is:
            # ticket_reply locks the row too; "Send as is" takes the lock first, to read the
            # ticket as it is now before it decides.
            run.ticket = Ticket.objects.select_for_update(no_key=True, of=("self",)).get(pk=ticket.pk)
            outdated = draft_outdated(run)
            if outdated:
                raise ValidationError(f"This draft is outdated ({outdated}); nothing was sent.")
        message = services.ticket_reply(
            ticket=ticket,
            body=body,
            actor=Actor.for_user(user),
            data={"run": run.pk, "feedback": verdict},
            sources=run.citations,
        )
        draft_feedback_record(run=run, user=user, verdict=verdict)
    return message


@login_required
@require_POST
def copilot_send(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Send as is: the draft goes out as the human's reply."""
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    form = CopilotRunForm(request.POST)
    if not form.is_valid():
        raise Http404("No such draft.")
    run = _run_of(ticket, form.cleaned_data["run"])
    try:
        if not run.draft.strip():
            raise ValidationError("This run has no draft to send.")
        reply_from_draft(ticket=ticket, run=run, body=run.draft, user=request.user, as_is=True)
    except ValidationError as exc:
        # The form targets the thread; a refusal belongs in the sidebar it came from.
        refused = _render_sidebar(request, ticket, run, error=" ".join(exc.messages))
        return reswap(retarget(refused, "#copilot-body"), "outerHTML") if is_partial(request) else refused
    if not is_partial(request):
        return HttpResponseRedirect(f"{reverse('helpdesk:ticket', args=[ticket.pk])}#thread-end")
    ticket.refresh_from_db()
    context = ticket_context(request, ticket, posted="reply")
    return render(request, f"{TICKET_TEMPLATE}#thread_update", context)


@login_required
@require_POST
def copilot_tool_run(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Run a tool call the AI suggested, through the Agent's gates: reads run, writes that an
    approval rule holds become a pending ActionRequest, refusals are audited and shown."""
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    form = ToolRunForm(request.POST)
    if not form.is_valid():
        raise Http404("No such suggestion.")
    run = _run_of(ticket, form.cleaned_data["run"])
    calls = run.tool_calls or []
    index = form.cleaned_data["call"]
    if index >= len(calls):
        raise Http404("No such suggestion.")
    call = ToolCall(str(calls[index].get("tool", "")), dict(calls[index].get("args") or {}))
    actor = Actor.for_user(request.user)
    check = tool_check(ticket=ticket, call=call)
    notice, error = "", ""
    if check.allowed and check.requires_approval:
        action_request_create(ticket=ticket, run=run, call=call, check=check, reply_draft=run.draft, actor=actor)
        notice = f"{call.tool} is waiting for a manager's approval ({check.reason})."
    else:
        result = tool_execute(ticket=ticket, call=call, actor=actor, run=run)
        if result.status == "executed":
            notice = f"{call.tool} ran: {_result_words(result.result)}"
        elif result.status == "pending_approval":
            notice = f"{call.tool} is waiting for a manager's approval."
        else:
            error = f"{call.tool} {result.status}: {result.reason}"
    if not is_partial(request):
        return HttpResponseRedirect(_copilot_url(ticket))
    ticket.refresh_from_db()
    response = _render_sidebar(request, ticket, run, notice=notice, error=error)
    # A queued action moves the ticket to "awaiting approval": header and details say so at once.
    context = {**ticket_context(request, ticket), "oob": True}
    details = render_to_string(f"{TICKET_TEMPLATE}#meta_oob", context, request=request)
    response.content = response.content + details.encode()
    return response


def _result_words(result: dict[str, Any]) -> str:
    shown = [f"{key} {value}" for key, value in result.items() if isinstance(value, str | int | float)][:4]
    return ", ".join(shown) or "done."


# ------------------------------------------------------------------------------ live poll


def version_key(ticket_id: int) -> str:
    """What the page shows changes only if one of these does: one query, all on indexes."""
    row = (
        Ticket.objects.filter(pk=ticket_id)
        .annotate(
            last_message=Subquery(Message.objects.filter(ticket=OuterRef("pk")).order_by("-pk").values("pk")[:1]),
            last_run=Subquery(AgentRun.objects.filter(ticket=OuterRef("pk")).order_by("-pk").values("pk")[:1]),
            run_status=Subquery(AgentRun.objects.filter(ticket=OuterRef("pk")).order_by("-pk").values("status")[:1]),
            pending=Subquery(
                ActionRequest.objects.filter(ticket=OuterRef("pk"), status=ActionStatus.PENDING)
                .values("ticket")
                .annotate(n=Count("pk"))
                .values("n")[:1]
            ),
        )
        .values_list("status", "last_message", "last_run", "run_status", "pending")
        .first()
    )
    if row is None:
        return ""
    status, message, run, run_status, pending = row
    return f"{message or 0}.{run or 0}{(run_status or '')[:1]}.{pending or 0}.{status}"


@login_required
@require_GET
def ticket_poll(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """204 while nothing changed; else the thread, header and sidebar out of band."""
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    key = version_key(ticket.pk)
    if request.GET.get("v", "") == key:
        return HttpResponse(status=204)
    context = {"ticket": ticket, "thread": thread_of(ticket), "version": key, "oob": True}
    return render(request, f"{TICKET_TEMPLATE}#poll_update", context)


# ------------------------------------------------------------------ the inbox's AI parts


def approvals_box(membership: Membership) -> dict[str, Any]:
    """Managers see what waits for them: a count and the oldest few (two queries, any size)."""
    if not membership.can_manage:
        return {"approvals_pending": None, "approvals_oldest": []}
    pending = ActionRequest.objects.filter(workspace_id=membership.workspace_id, status=ActionStatus.PENDING)
    oldest = pending.select_related("ticket", "ticket__workspace").order_by("created_at")[:3]
    return {
        "approvals_pending": pending.count(),
        "approvals_oldest": [(a, action_words(a.tool, a.args, a.ticket.workspace.currency)) for a in oldest],
    }


def ticket_page(page: hooks.TicketPage) -> dict[str, Any]:
    return {"version": version_key(page.ticket.pk)}


class CopilotDrafts:
    """The Copilot's drafts as the start of a staff reply (helpdesk.hooks.ReplyDrafts)."""

    def draft_text(self, *, ticket: Ticket, run_id: int) -> str:
        run = AgentRun.objects.filter(pk=run_id, ticket=ticket).only("pk", "draft").first()
        return strip_markers(run.draft) if run is not None and run.draft else ""

    def reply(self, *, ticket: Ticket, run_id: int, body: str, user: Any) -> Message | None:
        run = AgentRun.objects.filter(pk=run_id, ticket=ticket).first()
        return None if run is None else reply_from_draft(ticket=ticket, run=run, body=body, user=user)


inbox_urlpatterns: list[URLPattern] = [
    path("inbox/tickets/<int:ticket_id>/poll/", ticket_poll, name="ticket_poll"),
    path("inbox/tickets/<int:ticket_id>/copilot/", copilot, name="ticket_copilot"),
    path("inbox/tickets/<int:ticket_id>/copilot/regenerate/", copilot_regenerate, name="ticket_copilot_regenerate"),
    path("inbox/tickets/<int:ticket_id>/copilot/send/", copilot_send, name="ticket_copilot_send"),
    path("inbox/tickets/<int:ticket_id>/copilot/discard/", copilot_discard, name="ticket_copilot_discard"),
    path("inbox/tickets/<int:ticket_id>/copilot/tool/", copilot_tool_run, name="ticket_copilot_tool"),
]


def register_inbox() -> None:
    """Called from AIConfig.ready: the inbox's Copilot URLs, approvals box, version key and drafts."""
    hooks.register_inbox_urls(inbox_urlpatterns)
    hooks.inbox_page.connect(approvals_box)
    hooks.ticket_page.connect(ticket_page)
    hooks.register_reply_drafts(CopilotDrafts())

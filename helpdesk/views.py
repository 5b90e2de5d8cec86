"""The staff inbox: HTML pages with HTMX partials.

Each view parses its input, fetches objects through `helpdesk.access`, calls one service and
renders. `request.htmx` only picks what to render (the full page or a named partial of the
same template), never what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap, retarget

from audit.services import Actor
from helpdesk import hooks, services
from helpdesk.access import SESSION_KEY, active_membership, membership_for, request_memberships, ticket_for_user
from helpdesk.forms import (
    ASSIGNEE_ME,
    ASSIGNEE_NONE,
    AssignForm,
    Cursor,
    InboxFilterForm,
    MessageForm,
    ReplyForm,
    StatusChangeForm,
    TicketTypeForm,
    WorkspaceSwitchForm,
)
from helpdesk.models import Membership, Message, MessageKind, Ticket, TicketQuerySet, TicketStatus
from helpdesk.services_identity import identity_state

PAGE_SIZE = 25
PREVIEW_CHARS = 160
INBOX_TEMPLATE = "helpdesk/inbox.html"
TICKET_TEMPLATE = "helpdesk/ticket.html"


def is_partial(request: HttpRequest) -> bool:
    """An HTMX request wants a fragment; a history restore (back button after hx-push-url) the whole page."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The same URL answers with a page or a fragment: caches must key on the header.
    patch_vary_headers(response, ("HX-Request",))
    return response


def _staff_user(request: HttpRequest) -> User:
    # Every view here is login_required; this only narrows the type.
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user


def _layout_context(request: HttpRequest, membership: Membership) -> dict[str, Any]:
    return {"active_membership": membership, "memberships": request_memberships(request)}


def _workspace_members(workspace_id: int) -> list[Membership]:
    return list(
        Membership.objects.filter(workspace_id=workspace_id)
        .select_related("user")
        .order_by("user__first_name", "user__email")
    )


# ----------------------------------------------------------------------------- the list


def _filtered_tickets(form: InboxFilterForm, *, workspace_id: int, user: User) -> TicketQuerySet:
    # The newest customer message's first words: the row's preview, one subquery on an index.
    latest = Message.objects.filter(ticket_id=OuterRef("pk"), kind=MessageKind.CUSTOMER).order_by("-created_at", "-id")
    tickets = (
        Ticket.objects.for_workspace(workspace_id)
        .select_related("customer", "assignee")
        .annotate(preview=Substr(Subquery(latest.values("body")[:1]), 1, PREVIEW_CHARS))
    )
    data: dict[str, Any] = {}
    if form.is_bound:
        form.is_valid()
        # A bad value drops only its own filter: cleaned_data keeps the fields that validated.
        data = form.cleaned_data
    for field in ("status", "ticket_type", "channel", "ai_decision"):
        if data.get(field):
            tickets = tickets.filter(**{field: data[field]})
    # Confidence is typed in percent; a ticket without an AI score never matches a range.
    if data.get("confidence_min") is not None:
        tickets = tickets.filter(ai_confidence__gte=data["confidence_min"] / 100)
    if data.get("confidence_max") is not None:
        tickets = tickets.filter(ai_confidence__lte=data["confidence_max"] / 100)
    assignee = data.get("assignee")
    if assignee == ASSIGNEE_ME:
        tickets = tickets.filter(assignee=user)
    elif assignee == ASSIGNEE_NONE:
        tickets = tickets.filter(assignee__isnull=True)
    elif assignee:
        tickets = tickets.filter(assignee_id=int(assignee))
    if data.get("q"):
        tickets = tickets.search(data["q"])
    cursor: Cursor | None = data.get("after")
    if cursor is not None:
        # Keyset on the (last_message_at DESC, id DESC) index; Postgres sorts NULLs first there.
        if cursor.last_message_at is None:
            tickets = tickets.filter(
                Q(last_message_at__isnull=True, id__lt=cursor.pk) | Q(last_message_at__isnull=False)
            )
        else:
            tickets = tickets.filter(
                Q(last_message_at__lt=cursor.last_message_at)
                | Q(last_message_at=cursor.last_message_at, id__lt=cursor.pk)
            )
    return tickets.order_by("-last_message_at", "-id")


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    membership = active_membership(request)
    members = _workspace_members(membership.workspace_id)
    form = InboxFilterForm(request.GET or None, memberships=members)
    rows = list(
        _filtered_tickets(form, workspace_id=membership.workspace_id, user=_staff_user(request))[: PAGE_SIZE + 1]
    )
    tickets, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    next_cursor = str(Cursor(tickets[-1].last_message_at, tickets[-1].pk)) if more else ""
    context = {
        **_layout_context(request, membership),
        # What the AI app shows a manager here (the approvals box): helpdesk.hooks.inbox_page.
        **hooks.inbox_page.gather(membership),
        "form": form,
        "tickets": tickets,
        "next_cursor": next_cursor,
        "is_later_page": bool(request.GET.get("after")),
    }
    template = f"{INBOX_TEMPLATE}#ticket_list" if is_partial(request) else INBOX_TEMPLATE
    return _vary_on_htmx(render(request, template, context))


@login_required
@require_POST
def switch_workspace(request: HttpRequest) -> HttpResponse:
    form = WorkspaceSwitchForm(request.POST)
    if not form.is_valid():
        return redirect("helpdesk:inbox")
    membership = membership_for(user=request.user, workspace_id=form.cleaned_data["workspace"])
    request.session[SESSION_KEY] = membership.workspace_id
    return redirect("helpdesk:inbox")


# ---------------------------------------------------------------------------- one ticket


def thread_of(ticket: Ticket) -> QuerySet[Message]:
    return ticket.messages.select_related("author_user").order_by("created_at", "id")


def _reply_form_for(request: HttpRequest, ticket: Ticket) -> ReplyForm:
    """`?insert=<run>` (the Copilot's no-JS Insert link) starts the reply from that draft."""
    raw = request.GET.get("insert", "")
    drafts = hooks.reply_drafts()
    draft = drafts.draft_text(ticket=ticket, run_id=int(raw)) if raw.isdigit() and drafts is not None else ""
    if not draft:
        return ReplyForm(prefix="reply")
    return ReplyForm(prefix="reply", initial={"body": draft, "copilot_run": int(raw)})


def ticket_context(request: HttpRequest, ticket: Ticket, **forms: Any) -> dict[str, Any]:
    members = _workspace_members(ticket.workspace_id)
    current = Membership(user=_staff_user(request), workspace=ticket.workspace)
    membership = next((m for m in members if m.user_id == request.user.pk), current)
    thread = thread_of(ticket)
    assignee = (
        ASSIGNEE_NONE
        if ticket.assignee_id is None
        else (ASSIGNEE_ME if ticket.assignee_id == request.user.pk else str(ticket.assignee_id))
    )
    return {
        **_layout_context(request, membership),
        "ticket": ticket,
        "thread": thread,
        "reply_form": _reply_form_for(request, ticket),
        "note_form": MessageForm(prefix="note"),
        "assign_form": AssignForm(initial={"assignee": assignee}, memberships=members),
        "type_form": TicketTypeForm(initial={"ticket_type": ticket.ticket_type}),
        "can_resolve": ticket.status in services.OPEN_STATES,
        "can_reopen": ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED),
        "can_close": ticket.status != TicketStatus.CLOSED,
        "identity": identity_state(ticket),
        "action_error": "",
        # The AI app's part of the page (the live-update version key): helpdesk.hooks.ticket_page.
        **hooks.ticket_page.gather(hooks.TicketPage(request=request, ticket=ticket)),
        **forms,
    }


@login_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    return render(request, TICKET_TEMPLATE, ticket_context(request, ticket))


def _errors_of(exc: ValidationError) -> list[str]:
    return [str(message) for message in exc.messages]


def _ticket_url(ticket: Ticket) -> str:
    return reverse("helpdesk:ticket", args=[ticket.pk])


def _post_message(
    request: HttpRequest,
    ticket_id: int,
    *,
    prefix: str,
    post: Callable[[Ticket, dict[str, Any]], object],
    form_class: type[MessageForm] = MessageForm,
) -> HttpResponse:
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    form = form_class(request.POST, prefix=prefix)
    if form.is_valid():
        try:
            post(ticket, form.cleaned_data)
        except ValidationError as exc:
            for message in _errors_of(exc):
                form.add_error("body", message)
    form_key = f"{prefix}_form"
    if not form.is_valid():
        context = ticket_context(request, ticket, **{form_key: form})
        if is_partial(request):
            response = render(request, f"{TICKET_TEMPLATE}#{form_key}", context, status=400)
            return reswap(retarget(response, f"#{prefix}-form"), "outerHTML")
        return render(request, TICKET_TEMPLATE, context, status=400)
    if is_partial(request):
        ticket.refresh_from_db()
        return render(request, f"{TICKET_TEMPLATE}#thread_update", ticket_context(request, ticket, posted=prefix))
    return HttpResponseRedirect(f"{_ticket_url(ticket)}#thread-end")


@login_required
@require_POST
def ticket_reply(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)

    def post(ticket: Ticket, data: dict[str, Any]) -> Message:
        # A reply that started as a Copilot draft also labels the draft (edited or unchanged).
        run_id = data.get("copilot_run")
        drafts = hooks.reply_drafts()
        if run_id and drafts is not None:
            message = drafts.reply(ticket=ticket, run_id=run_id, body=data["body"], user=request.user)
            if message is not None:
                return message
        return services.ticket_reply(ticket=ticket, body=data["body"], actor=actor)

    return _post_message(request, ticket_id, prefix="reply", post=post, form_class=ReplyForm)


@login_required
@require_POST
def ticket_note(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _post_message(
        request,
        ticket_id,
        prefix="note",
        post=lambda ticket, data: services.ticket_add_note(ticket=ticket, body=data["body"], actor=actor),
    )


def _ticket_action(
    request: HttpRequest,
    ticket_id: int,
    make_form: Callable[[Ticket], Form],
    act: Callable[[Ticket, Form], Ticket],
) -> HttpResponse:
    """Run one sidebar action and answer with the refreshed ticket details (or the error)."""
    ticket = ticket_for_user(user=request.user, ticket_id=ticket_id, workspace_id=None)
    form = make_form(ticket)
    error = ""
    if form.is_valid():
        try:
            ticket = act(ticket, form)
        except ValidationError as exc:
            error = " ".join(_errors_of(exc))
    else:
        error = " ".join(str(message) for errors in form.errors.values() for message in errors)
    if not error and not is_partial(request):
        return HttpResponseRedirect(_ticket_url(ticket))
    ticket.refresh_from_db()
    context = ticket_context(request, ticket, action_error=error)
    status = 400 if error else 200
    template = f"{TICKET_TEMPLATE}#meta_update" if is_partial(request) else TICKET_TEMPLATE
    return render(request, template, context, status=status)


def _assignee_from(form: Form, user: User) -> User | None:
    choice = form.cleaned_data["assignee"]
    if choice == ASSIGNEE_ME:
        return user
    if choice == ASSIGNEE_NONE:
        return None
    assignee = User.objects.filter(pk=int(choice)).first()
    if assignee is None:
        raise ValidationError("No such user.")
    return assignee


@login_required
@require_POST
def ticket_assign(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _ticket_action(
        request,
        ticket_id,
        lambda ticket: AssignForm(request.POST, memberships=_workspace_members(ticket.workspace_id)),
        lambda ticket, form: services.ticket_assign(
            ticket=ticket, assignee=_assignee_from(form, _staff_user(request)), actor=actor
        ),
    )


@login_required
@require_POST
def ticket_set_type(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _ticket_action(
        request,
        ticket_id,
        lambda ticket: TicketTypeForm(request.POST),
        lambda ticket, form: services.ticket_set_type(
            ticket=ticket, ticket_type=form.cleaned_data["ticket_type"], actor=actor
        ),
    )


@login_required
@require_POST
def ticket_resolve(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _ticket_action(
        request,
        ticket_id,
        lambda ticket: StatusChangeForm(request.POST),
        lambda ticket, form: services.ticket_resolve(ticket=ticket, actor=actor, reason=form.cleaned_data["reason"]),
    )


@login_required
@require_POST
def ticket_reopen(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _ticket_action(
        request,
        ticket_id,
        lambda ticket: StatusChangeForm(request.POST),
        lambda ticket, form: services.ticket_reopen(ticket=ticket, actor=actor, reason=form.cleaned_data["reason"]),
    )


@login_required
@require_POST
def ticket_close(request: HttpRequest, ticket_id: int) -> HttpResponse:
    actor = Actor.for_user(request.user)
    return _ticket_action(
        request,
        ticket_id,
        lambda ticket: StatusChangeForm(request.POST),
        lambda ticket, form: services.ticket_close(ticket=ticket, actor=actor, reason=form.cleaned_data["reason"]),
    )

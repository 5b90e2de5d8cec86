"""The customer portal (light): a signed link opens one ticket's public thread and a reply form.

The token is a TimestampSigner signature of the ticket id (salted for this purpose), valid
30 days; anything tampered, expired or pointing elsewhere is a plain 404. A magic link
(/portal/verify/<token>/) confirms the customer's identity for one ticket.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.services import Actor
from helpdesk.channels.identity import portal_ticket_id, portal_token
from helpdesk.channels.ratelimit import check, too_many
from helpdesk.channels.thread import thread_read
from helpdesk.models import Ticket
from helpdesk.services_channels import customer_message_post, last_ai_reply, ticket_customer_feedback
from helpdesk.services_identity import (
    MagicLinkInvalid,
    latest_customer_message,
    magic_link_confirm,
    magic_link_for_token,
)


class ReplyForm(forms.Form):
    body = forms.CharField(label="Your reply", widget=forms.Textarea(attrs={"rows": 5}), max_length=10000)


def _ticket(token: str) -> Ticket:
    ticket_id = portal_ticket_id(token)
    if ticket_id is None:
        raise Http404("This link is not valid (or has expired).")
    ticket = Ticket.objects.select_related("workspace", "customer").filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("This link is not valid (or has expired).")
    return ticket


def _limited(request: HttpRequest, scope: str, ticket: Ticket) -> HttpResponse | None:
    verdict = check(request, scope=scope, workspace_key=ticket.workspace.slug)
    return None if verdict.allowed else too_many(verdict, json=False)


@require_http_methods(["GET", "POST"])
def thread(request: HttpRequest, token: str) -> HttpResponse:
    ticket = _ticket(token)
    limited = _limited(request, "portal_post" if request.method == "POST" else "portal", ticket)
    if limited is not None:
        return limited
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer_message_post(ticket=ticket, body=form.cleaned_data["body"])
        except ValidationError as exc:
            form.add_error("body", exc)
        else:
            return redirect("portal:thread", token=token)
    ticket.refresh_from_db()
    thread = thread_read(ticket)
    return render(
        request,
        "channels/portal.html",
        {
            "workspace": ticket.workspace,
            "ticket": ticket,
            "token": token,
            "messages_": thread.messages,
            "state": thread.state,
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def solved(request: HttpRequest, token: str, answer: str) -> HttpResponse:
    """GET shows a confirm button (mail scanners follow links); only the POST acts."""
    if answer not in ("yes", "no"):
        raise Http404
    ticket = _ticket(token)
    limited = _limited(request, "portal_post" if request.method == "POST" else "portal", ticket)
    if limited is not None:
        return limited
    reply = last_ai_reply(ticket)
    if request.method == "POST" and reply is not None:
        source = "email" if request.POST.get("source") == "email" else "portal"
        ticket_customer_feedback(
            ticket=ticket,
            solved=answer == "yes",
            actor=Actor.for_customer(ticket.customer),
            message=reply,
            source=source,
        )
        return redirect("portal:thread", token=token)
    return render(
        request,
        "channels/portal_solved.html",
        {
            "workspace": ticket.workspace,
            "ticket": ticket,
            "token": token,
            "answer": answer,
            "reply": reply,
            "site_url": settings.SITE_URL,
        },
    )


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """A magic link: GET shows what was asked and a confirm button (mail scanners follow
    links); only the POST verifies the customer, once."""
    try:
        link = magic_link_for_token(token)
    except MagicLinkInvalid as exc:
        return _link_refused(request, exc)
    ticket = link.ticket
    limited = _limited(request, "portal_post" if request.method == "POST" else "portal", ticket)
    if limited is not None:
        return limited
    context = {"workspace": ticket.workspace, "ticket": ticket, "done": False}
    if request.method == "POST":
        try:
            magic_link_confirm(token=token)
        except MagicLinkInvalid as exc:
            return _link_refused(request, exc)
        context |= {"done": True, "portal_token": portal_token(ticket.pk)}
    else:
        asked = latest_customer_message(ticket)
        context["asked"] = asked.body if asked else ticket.subject
    return render(request, "channels/verify.html", context)


def _link_refused(request: HttpRequest, exc: MagicLinkInvalid) -> HttpResponse:
    # A used or expired link existed (410 Gone); anything else is not ours to discuss (404).
    status = 404 if exc.code == "invalid" else 410
    return render(request, "channels/link_refused.html", {"error": str(exc)}, status=status)

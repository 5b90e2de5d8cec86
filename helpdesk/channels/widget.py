"""The chat widget's JSON API, called cross-origin from merchant sites: /chat/api/<slug>/...

No cookies are read or set here: the visitor's session token travels in the X-Oasis-Session
header, so allowing any origin (CORS `*`) exposes nothing and CSRF does not apply. The rest
of the site keeps its CSRF protection.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from audit.services import Actor
from helpdesk.channels.identity import IdentityError, identity_token_verify, widget_secret
from helpdesk.channels.ratelimit import rate_limited
from helpdesk.channels.thread import ThreadProbe, message_json, thread_probe, thread_read
from helpdesk.channels.wakeups import WAKEUPS, session_key, ticket_key, wait_for_change
from helpdesk.models import Message, Workspace
from helpdesk.models.channels import ChatSession
from helpdesk.services_channels import (
    IdentityReused,
    chat_message_post,
    chat_session_start,
    hash_token,
    ticket_customer_feedback,
)
from helpdesk.throttle import throttle
from oasis.db import retry_on_deadlock
from oasis.hygiene import InputRejected, json_loads
from oasis.middleware import input_hygiene_exempt

SESSION_HEADER = "HTTP_X_OASIS_SESSION"
MAX_BODY_BYTES = 16 * 1024
MAX_MESSAGE_CHARS = 4000
# A poll may wait for news (`wait=<s>`; the open widget always does): at most this long (well
# under the usual 60 s proxy timeout). A NOTIFY wakes it; while this process has no listener,
# it re-reads the thread's version this often instead (one indexed query each time).
LONG_POLL_MAX_S = 25.0
LONG_POLL_STEP_S = 0.2

View = Callable[..., HttpResponse]


def cors(methods: str) -> Callable[[View], View]:
    """Any origin may call the widget API (no cookies involved); preflights answered here."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            preflight = request.method == "OPTIONS"
            response = HttpResponse(status=204) if preflight else view(request, *args, **kwargs)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = f"{methods}, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type, X-Oasis-Session"
            response["Access-Control-Expose-Headers"] = "Retry-After"
            response["Access-Control-Max-Age"] = "600"
            response["Cache-Control"] = "no-store"
            return response

        # The edge's refusal would carry no CORS headers, so the merchant page could not read it:
        # this API refuses NUL, lone surrogates and deep JSON itself (`_json_body`), with them.
        return input_hygiene_exempt(csrf_exempt(wrapper))

    return decorator


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


def _json_body(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "too_large", f"The request is larger than {MAX_BODY_BYTES} bytes.")
    try:
        # Limited like every JSON body (oasis.hygiene), whatever Content-Type the client claims.
        data = json_loads(request.body or b"{}")
    except InputRejected as exc:
        return _error(400, "invalid_input", str(exc))
    except ValueError:
        return _error(400, "bad_json", "The request body is not JSON.")
    if not isinstance(data, dict):
        return _error(400, "bad_json", "The request body must be a JSON object.")
    return data


def _workspace(slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()


def _session(request: HttpRequest, workspace_slug: str) -> ChatSession | JsonResponse:
    """The visitor's session in this workspace (one query), or the error to answer with."""
    token = str(request.META.get(SESSION_HEADER, ""))
    session = (
        ChatSession.objects.select_related("workspace", "ticket")
        .filter(workspace__slug=workspace_slug, token_hash=hash_token(token))
        .first()
        if token and len(token) <= 200
        else None
    )
    if session is not None:
        return session
    if _workspace(workspace_slug) is None:
        return _error(404, "not_found", "No such workspace.")
    return _error(401, "session_invalid", "Unknown or missing chat session; start a new one.")


def _session_json(session: ChatSession) -> dict[str, Any]:
    return {"name": session.name, "email": session.email, "verified": session.verified}


def _validation_detail(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(str(m) for messages in exc.message_dict.values() for m in messages)
    return " ".join(str(m) for m in exc.messages)


@cors("POST")
def sessions(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """Start a conversation: a signed identity token, or a name and email typed by the visitor."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", "Use POST.")
    workspace = _workspace(workspace_slug)
    data = _json_body(request)
    # Per IP, per workspace and per typed address, counted whatever the outcome below.
    limited = throttle(
        request,
        scope="chat_start",
        workspace_key=workspace_slug,
        account=str(data.get("email", "")) if isinstance(data, dict) else "",
        workspaces=lambda: [workspace] if workspace is not None else [],
        json=True,
    )
    if limited is not None:
        return limited
    if workspace is None:
        return _error(404, "not_found", "No such workspace.")
    if isinstance(data, JsonResponse):
        return data
    token = data.get("identity_token")
    proof: str | None = None
    if token:
        try:
            identity = identity_token_verify(str(token), secret=widget_secret(workspace))
        except IdentityError as exc:
            return _error(401, "identity_invalid", str(exc))
        # The session keeps the token's hash: a replay of it starts no second session.
        email, name, proof = identity.email, identity.name, hash_token(str(token))
    else:
        email, name = str(data.get("email", "")), str(data.get("name", ""))
    try:
        started = retry_on_deadlock(chat_session_start)(
            workspace=workspace, email=email, name=name, identity_token_hash=proof
        )
    except IdentityReused:
        return _error(
            409, "identity_reused", "This identity token already started a chat; sign a new one for each page view."
        )
    except ValidationError as exc:
        return _error(400, "invalid", _validation_detail(exc))
    return JsonResponse({"session_token": started.token, "session": _session_json(started.session)}, status=201)


@cors("GET, POST")
def messages(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    if request.method == "POST":
        return _post_message(request, workspace_slug=workspace_slug)
    if request.method == "GET":
        return _list_messages(request, workspace_slug=workspace_slug)
    return _error(405, "method_not_allowed", "Use GET or POST.")


@rate_limited("chat_message", json=True)
def _post_message(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    session = _session(request, workspace_slug)
    if isinstance(session, JsonResponse):
        return session
    data = _json_body(request)
    if isinstance(data, JsonResponse):
        return data
    body = str(data.get("body", ""))
    if len(body) > MAX_MESSAGE_CHARS:
        return _error(413, "too_large", f"A chat message is at most {MAX_MESSAGE_CHARS} characters.")
    try:
        # Idempotent by client id, so a retry after a deadlock never doubles the message.
        posted = retry_on_deadlock(chat_message_post)(
            session=session, client_id=str(data.get("client_id", "")), body=body
        )
    except ValidationError as exc:
        return _error(400, "invalid", _validation_detail(exc))
    return JsonResponse(
        {"message": message_json(posted.message, client_id=str(data.get("client_id", "")))},
        status=201 if posted.created else 200,
    )


def _wait_for_news(probe: ThreadProbe, *, workspace_slug: str, token_hash: str, wait: float) -> ThreadProbe | None:
    """The long-poll: sleep until this session's thread changes (a NOTIFY wakes it) or `wait` ends."""
    deadline = time.monotonic() + wait
    since = probe.version
    keys = [session_key(probe.session_id)]
    if probe.ticket_id is not None:
        keys.append(ticket_key(probe.ticket_id))
    WAKEUPS.start()
    with WAKEUPS.watch(*keys) as changed:
        while True:
            # Read again once watching: a change committed since the first read has no wake-up.
            current = thread_probe(workspace_slug=workspace_slug, token_hash=token_hash)
            if current is None or current.version != since or time.monotonic() >= deadline:
                return current
            if not connection.in_atomic_block:
                # Don't hold a database connection while asleep (back to the pool, if any):
                # with hundreds of open widgets, Postgres would otherwise keep a backend each.
                connection.close()
            wait_for_change(changed, deadline=deadline, step=LONG_POLL_STEP_S)


@rate_limited("chat_poll", json=True)
def _list_messages(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The widget's poll: `?after=<last message id>&v=<version it holds>[&wait=<seconds>]`.

    Cheap when nothing changed (what almost every poll finds): one indexed query and 204 No
    Content, no session or thread work. With `wait`, it answers as soon as something changes
    (the AI's reply, a notice) or 204 when the wait is over (a long-poll).
    """
    try:
        after = max(0, int(request.GET.get("after", "0") or 0))
        wait = min(LONG_POLL_MAX_S, max(0.0, float(request.GET.get("wait", "0") or 0)))
    except ValueError:
        return _error(400, "invalid", "`after` must be a message id and `wait` a number of seconds.")
    since = str(request.GET.get("v", ""))
    token = str(request.META.get(SESSION_HEADER, ""))
    token_hash = hash_token(token) if token and len(token) <= 200 else ""
    probe = thread_probe(workspace_slug=workspace_slug, token_hash=token_hash) if token_hash else None
    if probe is not None and probe.version == since and wait > 0:
        probe = _wait_for_news(probe, workspace_slug=workspace_slug, token_hash=token_hash, wait=wait)
    if probe is None:
        if _workspace(workspace_slug) is None:
            return _error(404, "not_found", "No such workspace.")
        return _error(401, "session_invalid", "Unknown or missing chat session; start a new one.")
    if probe.version == since:
        return HttpResponse(status=204)
    session = ChatSession.objects.select_related("ticket__workspace").get(pk=probe.session_id)
    payload: dict[str, Any] = {
        "session": _session_json(session),
        "messages": [],
        "state": None,
        # Read before the thread: a change racing this request shows up as a newer version
        # next time, never as a version that claims a message the client did not get.
        "version": probe.version,
    }
    if session.ticket is not None:
        thread = thread_read(session.ticket, after=after)
        payload["messages"], payload["state"] = thread.messages, thread.state
    return JsonResponse(payload)


@cors("POST")
@rate_limited("chat_feedback", json=True)
def feedback(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """'Did this solve it?' from the widget: {"message_id": <AI reply id>, "solved": true|false}."""
    if request.method != "POST":
        return _error(405, "method_not_allowed", "Use POST.")
    session = _session(request, workspace_slug)
    if isinstance(session, JsonResponse):
        return session
    if session.ticket is None:
        return _error(401, "session_invalid", "Unknown or missing chat session.")
    data = _json_body(request)
    if isinstance(data, JsonResponse):
        return data
    solved = data.get("solved")
    if not isinstance(solved, bool):
        return _error(400, "invalid", "`solved` must be true or false.")
    ticket = session.ticket
    raw_id = data.get("message_id")
    message_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else 0
    message = Message.objects.filter(ticket=ticket, pk=message_id).first()
    try:
        result = ticket_customer_feedback(
            ticket=ticket, solved=solved, actor=Actor.for_customer(ticket.customer), message=message, source="chat"
        )
    except ValidationError as exc:
        return _error(400, "invalid", _validation_detail(exc))
    return JsonResponse({"solved": result.feedback.solved, "recorded": result.created})

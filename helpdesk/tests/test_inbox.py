"""The staff inbox through HTTP: list, filters, search, pages, ticket page and its actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import Actor
from conftest import PASSWORD
from helpdesk import urls as helpdesk_urls
from helpdesk import views
from helpdesk.access import SESSION_KEY
from helpdesk.models import Message, MessageKind, Role, Ticket, TicketStatus, TicketType, Workspace
from helpdesk.services import membership_add, ticket_assign, ticket_close, ticket_create, ticket_resolve

INBOX = "/inbox/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def make_ticket(
    workspace: Workspace,
    *,
    subject: str = "Question",
    body: str = "Hello there",
    channel: str = "email",
    email: str = "c@customer.test",
    **kw: Any,
) -> Ticket:
    return ticket_create(
        workspace=workspace,
        channel=channel,
        customer_email=email,
        customer_name=kw.pop("name", ""),
        subject=subject,
        body=body,
        **kw,
    )


def numbers(response: Any) -> list[int]:
    return [t.number for t in response.context["tickets"]]


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


# ----------------------------------------------------------------------------- the list


@pytest.mark.parametrize("url", [INBOX, "/inbox/tickets/1/"])
def test_it_sends_anonymous_users_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_it_lists_only_the_active_workspace_tickets(agent_client, ticket, other_workspace):
    make_ticket(other_workspace, subject="Globex secret plans")
    response = agent_client.get(INBOX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Where is my order?" in body
    assert "Globex secret plans" not in body
    assert [t.pk for t in response.context["tickets"]] == [ticket.pk]


def test_it_switches_workspace_only_to_a_membership(client, agent, ticket, other_workspace, outsider):
    make_ticket(other_workspace, subject="Globex ticket")
    membership_add(workspace=other_workspace, user=agent, role=Role.AGENT, actor=Actor.system("test"))
    client.force_login(agent)
    page = client.get(INBOX).content.decode()
    assert 'name="workspace"' in page  # the switcher shows for two memberships
    assert "Where is my order?" in page  # Acme sorts first by name

    response = client.post(reverse("helpdesk:switch_workspace"), {"workspace": other_workspace.pk})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == other_workspace.pk
    page = client.get(INBOX).content.decode()
    assert "Globex ticket" in page
    assert "Where is my order?" not in page

    # The outsider is not a member of Acme: switching there is refused.
    client.force_login(outsider)
    response = client.post(reverse("helpdesk:switch_workspace"), {"workspace": ticket.workspace_id})
    assert response.status_code == 404
    assert client.session.get(SESSION_KEY) != ticket.workspace_id


def test_it_filters_by_status_type_channel_assignee_and_ai_decision(agent_client, agent, manager, workspace):
    email = make_ticket(workspace, subject="Email one")
    chat = make_ticket(workspace, subject="Chat one", channel="chat")
    web = make_ticket(workspace, subject="Web one", channel="web")
    ticket_resolve(ticket=chat, actor=Actor.for_user(agent))
    ticket_assign(ticket=email, assignee=agent, actor=Actor.for_user(agent))
    ticket_assign(ticket=web, assignee=manager, actor=Actor.for_user(agent))
    Ticket.objects.filter(pk=web.pk).update(ticket_type=TicketType.REFUND, ai_decision="escalate", ai_confidence=0.4)

    def listed(**params: str) -> list[int]:
        return sorted(numbers(agent_client.get(INBOX, params)))

    assert listed() == sorted([email.number, chat.number, web.number])
    assert listed(status="resolved") == [chat.number]
    assert listed(channel="web") == [web.number]
    assert listed(ticket_type="refund") == [web.number]
    assert listed(assignee="me") == [email.number]
    assert listed(assignee="none") == [chat.number]
    assert listed(assignee=str(manager.pk)) == [web.number]
    assert listed(ai_decision="escalate") == [web.number]
    assert listed(channel="email", assignee="none") == []
    # A value that does not validate drops only its own filter.
    assert listed(channel="web", assignee="999999") == [web.number]
    page = agent_client.get(INBOX, {"ai_decision": "escalate"}).content.decode()
    assert "Escalated · 40%" in page


def test_it_filters_by_ai_confidence_range_and_shows_the_ai_state(agent_client, workspace):
    low = make_ticket(workspace, subject="Low")
    mid = make_ticket(workspace, subject="Mid")
    high = make_ticket(workspace, subject="High")
    unscored = make_ticket(workspace, subject="Unscored")
    Ticket.objects.filter(pk=low.pk).update(ai_decision="escalate", ai_confidence=0.2, ai_reason="no matching article")
    Ticket.objects.filter(pk=mid.pk).update(ai_decision="draft", ai_confidence=0.6)
    Ticket.objects.filter(pk=high.pk).update(ai_decision="autosend", ai_confidence=0.93)

    def listed(**params: str) -> list[int]:
        return sorted(numbers(agent_client.get(INBOX, params)))

    assert listed() == sorted([low.number, mid.number, high.number, unscored.number])
    assert listed(confidence_min="50") == sorted([mid.number, high.number])
    assert listed(confidence_max="60") == sorted([low.number, mid.number])
    assert listed(confidence_min="50", confidence_max="90") == [mid.number]
    assert listed(confidence_min="60", ai_decision="autosend") == [high.number]
    # Out of range drops only that filter.
    assert listed(confidence_min="150", confidence_max="20") == [low.number]
    page = agent_client.get(INBOX).content.decode()
    for label in ("Autosent · 93%", "Draft ready · 60%", "Escalated · 20%", "no matching article"):
        assert label in page


def test_it_shows_managers_the_pending_approvals(client, agent, manager, workspace, django_assert_num_queries):
    from ai.models import ActionRequest

    tickets = [make_ticket(workspace, subject=f"Refund {i}", email=f"r{i}@customer.test") for i in range(4)]
    client.force_login(agent)
    assert "awaiting approval</a>" not in client.get(INBOX).content.decode()
    client.force_login(manager)
    page = client.get(INBOX).content.decode()
    assert "Nothing waits for approval." in page
    with CaptureQueriesContext(connection) as few:
        client.get(INBOX)
    for t in tickets:
        ActionRequest.objects.create(
            workspace=workspace,
            ticket=t,
            tool="issue_refund",
            args={"order_number": f"A10{t.number}", "amount": "150.00"},
            amount="150.00",
            requested_by="ai",
        )
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(INBOX)
    page = response.content.decode()
    assert "4 awaiting approval</a>" in page
    assert 'href="/approvals/"' in page
    # The oldest three in the box, in words.
    assert page.count("Refund 150.00 USD on order A10") == 3


def test_it_searches_message_bodies_and_subjects(agent_client, ticket, workspace):
    other = make_ticket(workspace, subject="Sizing of boots", body="Do the hiking boots run small?")
    ticket_id = ticket.pk
    assert [t.pk for t in agent_client.get(INBOX, {"q": "A1001"}).context["tickets"]] == [ticket_id]
    assert [t.pk for t in agent_client.get(INBOX, {"q": "hiking"}).context["tickets"]] == [other.pk]
    assert [t.pk for t in agent_client.get(INBOX, {"q": "sizing"}).context["tickets"]] == [other.pk]
    assert agent_client.get(INBOX, {"q": "nonexistentword"}).context["tickets"] == []
    # A word in an agent's later reply finds the ticket too.
    agent_client.post(
        reverse("helpdesk:ticket_reply", args=[ticket_id]), {"reply-body": "Your parcel is in Rotterdam."}
    )
    assert [t.pk for t in agent_client.get(INBOX, {"q": "rotterdam"}).context["tickets"]] == [ticket_id]


def test_it_pages_with_a_keyset_cursor(agent_client, workspace, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    base = timezone.now() - timedelta(days=1)
    # Two tickets share a timestamp: the id breaks the tie, so none is skipped or repeated.
    stamps = [base, base + timedelta(minutes=1), base + timedelta(minutes=1), base + timedelta(minutes=2), base]
    created = [make_ticket(workspace, subject=f"T{i}", created_at=stamp) for i, stamp in enumerate(stamps)]
    expected = [t.number for t in sorted(created, key=lambda t: (t.last_message_at, t.pk), reverse=True)]

    seen: list[int] = []
    params: dict[str, str] = {}
    for _ in range(5):
        response = agent_client.get(INBOX, params)
        seen.extend(numbers(response))
        cursor = response.context["next_cursor"]
        if not cursor:
            break
        assert 'rel="next"' in response.content.decode()
        params = {"after": cursor}
    assert seen == expected

    # The next link keeps the filters.
    response = agent_client.get(INBOX, {"channel": "email"})
    link = response.content.decode().split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    query = parse_qs(urlparse(link).query)
    assert query["channel"] == ["email"]
    assert query["after"] == [response.context["next_cursor"]]

    # A mangled cursor falls back to the first page instead of failing.
    response = agent_client.get(INBOX, {"after": "garbage"})
    assert response.status_code == 200
    assert numbers(response) == expected[:2]


def test_it_renders_only_the_list_partial_for_htmx(agent_client, ticket):
    response = agent_client.get(INBOX, {"status": "new"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="ticket-list"')
    assert "<html" not in body
    assert "Where is my order?" in body
    assert "HX-Request" in response["Vary"]


def test_it_keeps_the_list_query_count_constant(client, agent, workspace, django_assert_num_queries):
    for i in range(3):
        make_ticket(workspace, subject=f"Ticket {i}", email=f"c{i}@customer.test")
    client.force_login(agent)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(INBOX).context["tickets"]) == 3
    for i in range(3, 25):
        ticket = make_ticket(workspace, subject=f"Ticket {i}", email=f"c{i}@customer.test")
        ticket_assign(ticket=ticket, assignee=agent, actor=Actor.system("test"))
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(INBOX)
    assert len(response.context["tickets"]) == 25


# ---------------------------------------------------------------------------- one ticket


def ticket_url(ticket: Ticket, name: str = "ticket") -> str:
    return reverse(f"helpdesk:{name}", args=[ticket.pk])


def test_it_renders_the_thread_escaped(agent_client, workspace):
    ticket = make_ticket(workspace, subject="<b>bold</b> subject", body="Hi <script>alert('x')</script>\nsecond line")
    response = agent_client.get(ticket_url(ticket))
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;<br>second line" in body
    assert "<script>alert" not in body
    assert "<b>bold</b>" not in body
    assert '<aside id="copilot"' in body


def test_it_shows_notes_apart_from_public_messages(agent_client, ticket):
    agent_client.post(ticket_url(ticket, "ticket_note"), {"note-body": "Customer is a VIP"})
    agent_client.post(ticket_url(ticket, "ticket_reply"), {"reply-body": "On its way!"})
    body = agent_client.get(ticket_url(ticket)).content.decode()
    assert body.count('class="msg msg-customer"') == 1
    assert body.count('class="msg msg-note"') == 1
    assert body.count('class="msg msg-reply"') == 1
    assert "Internal note" in body


def test_it_replies_with_a_plain_post(agent_client, agent, ticket):
    response = agent_client.post(ticket_url(ticket, "ticket_reply"), {"reply-body": "We are on it."})
    assert response.status_code == 302
    assert response["Location"] == f"{ticket_url(ticket)}#thread-end"
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.REPLY)
    assert (reply.body, reply.author_user_id) == ("We are on it.", agent.pk)
    event = AuditEvent.objects.get(ticket=ticket, kind="message.replied")
    assert event.actor == agent.email
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING


def test_it_replies_over_htmx_with_the_thread_partial(agent_client, agent, ticket):
    response = agent_client.post(ticket_url(ticket, "ticket_reply"), {"reply-body": "Tracking: ZX9"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<ol id="thread"')
    assert "Tracking: ZX9" in body
    assert "<html" not in body
    # The sidebar and header ride along out of band so the new status shows.
    assert 'id="ticket-meta" class="ticket-meta" aria-label="Ticket details" hx-swap-oob="true"' in body
    assert "badge-pending" in body
    # A fresh, empty reply form replaces the one that posted; the note form is left alone.
    assert '<form id="reply-form" class="composer-form composer-reply" hx-swap-oob="true"' in body
    assert 'id="note-form"' not in body
    assert Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY, body="Tracking: ZX9").count() == 1
    assert AuditEvent.objects.filter(ticket=ticket, kind="message.replied", actor=agent.email).count() == 1


@pytest.mark.parametrize("htmx", [False, True])
def test_it_refuses_an_empty_reply(agent_client, ticket, htmx):
    headers = HTMX if htmx else {}
    response = agent_client.post(ticket_url(ticket, "ticket_reply"), {"reply-body": "   "}, **headers)
    assert response.status_code == 400
    body = response.content.decode()
    assert "The message is empty." in body
    if htmx:
        assert body.lstrip().startswith('<form id="reply-form"')
        assert response["HX-Retarget"] == "#reply-form"
        assert response["HX-Reswap"] == "outerHTML"
    else:
        assert "<html" in body
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY).exists()
    assert not AuditEvent.objects.filter(ticket=ticket, kind="message.replied").exists()


def test_it_shows_the_service_error_for_a_reply_to_a_closed_ticket(agent_client, agent, ticket):
    ticket_close(ticket=ticket, actor=Actor.for_user(agent))
    response = agent_client.post(ticket_url(ticket, "ticket_reply"), {"reply-body": "Hello?"}, **HTMX)
    assert response.status_code == 400
    body = response.content.decode()
    assert "reopen it before replying" in body
    assert "Hello?" in body  # the draft is kept in the form
    assert not Message.objects.filter(ticket=ticket, kind=MessageKind.REPLY).exists()


def test_it_adds_an_internal_note(agent_client, agent, ticket):
    response = agent_client.post(ticket_url(ticket, "ticket_note"), {"note-body": "Checked the warehouse."}, **HTMX)
    assert response.status_code == 200
    assert 'class="msg msg-note"' in response.content.decode()
    note = Message.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.body == "Checked the warehouse."
    assert AuditEvent.objects.filter(ticket=ticket, kind="note.added", actor=agent.email).exists()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW  # a note is not a reply


def test_it_assigns_to_me_a_member_and_nobody(agent_client, agent, manager, outsider, ticket):
    url = ticket_url(ticket, "ticket_assign")
    assert agent_client.post(url, {"assignee": "me"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.assignee == agent

    response = agent_client.post(url, {"assignee": str(manager.pk)}, **HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<aside id="ticket-meta"')
    ticket.refresh_from_db()
    assert ticket.assignee == manager

    agent_client.post(url, {"assignee": "none"})
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert AuditEvent.objects.filter(ticket=ticket, kind="ticket.assigned").count() == 3

    # Someone outside the workspace cannot be assigned.
    response = agent_client.post(url, {"assignee": str(outsider.pk)}, **HTMX)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_it_sets_the_type(agent_client, ticket):
    response = agent_client.post(ticket_url(ticket, "ticket_set_type"), {"ticket_type": "legal"}, **HTMX)
    assert response.status_code == 200
    assert "Needs a human" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.ticket_type == TicketType.LEGAL
    assert AuditEvent.objects.filter(ticket=ticket, kind="ticket.type_set").exists()
    response = agent_client.post(ticket_url(ticket, "ticket_set_type"), {"ticket_type": "bogus"})
    assert response.status_code == 400


def test_it_resolves_reopens_and_closes(agent_client, ticket):
    assert agent_client.post(ticket_url(ticket, "ticket_resolve")).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert AuditEvent.objects.filter(ticket=ticket, kind="ticket.resolved").exists()

    # Resolving twice is refused with the service's message.
    response = agent_client.post(ticket_url(ticket, "ticket_resolve"), **HTMX)
    assert response.status_code == 400
    assert "a ticket that is resolved." in response.content.decode()

    response = agent_client.post(ticket_url(ticket, "ticket_reopen"), **HTMX)
    assert response.status_code == 200
    assert 'id="ticket-header" class="ticket-header" hx-swap-oob="true"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert AuditEvent.objects.filter(ticket=ticket, kind="ticket.reopened").exists()

    agent_client.post(ticket_url(ticket, "ticket_close"))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert AuditEvent.objects.filter(ticket=ticket, kind="ticket.closed").exists()


GET_URLS = ["ticket", "ticket_poll", "ticket_copilot"]

ACTIONS = [
    ("ticket_reply", {"reply-body": "hi"}),
    ("ticket_note", {"note-body": "hi"}),
    ("ticket_assign", {"assignee": "me"}),
    ("ticket_set_type", {"ticket_type": "refund"}),
    ("ticket_resolve", {}),
    ("ticket_reopen", {}),
    ("ticket_close", {}),
    ("ticket_copilot_regenerate", {}),
    ("ticket_copilot_send", {"run": "1"}),
    ("ticket_copilot_discard", {"run": "1", "reason": "wrong"}),
    ("ticket_copilot_tool", {"run": "1", "call": "0"}),
]


def test_it_covers_every_ticket_url_in_the_outsider_test():
    ticket_urls = {p.name for p in helpdesk_urls.urlpatterns if "ticket_id" in str(p.pattern)}
    assert ticket_urls == set(GET_URLS) | {name for name, _ in ACTIONS}


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(("name", "data"), [*((name, None) for name in GET_URLS), *ACTIONS])
def test_it_hides_tickets_from_outsiders(client, outsider, ticket, name, data, htmx):
    client.force_login(outsider)
    headers = HTMX if htmx else {}
    url = ticket_url(ticket, name)
    response = client.get(url, **headers) if data is None else client.post(url, data, **headers)
    assert response.status_code == 404
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee_id, ticket.ticket_type) == (TicketStatus.NEW, None, TicketType.OTHER)
    assert ticket.messages.count() == 1
    assert not ticket.agent_runs.exists()
    assert not AuditEvent.objects.filter(ticket=ticket, actor=outsider.email).exists()


def test_it_refuses_get_on_actions(agent_client, ticket):
    assert agent_client.get(ticket_url(ticket, "ticket_resolve")).status_code == 405


# --------------------------------------------------------------------------- sign in/out


def test_it_signs_in_and_out(client, agent):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b"Sign in to your inbox" in page.content
    response = client.post("/accounts/login/", {"username": agent.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    page = client.get(INBOX).content.decode()
    assert 'action="/accounts/logout/"' in page
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get(INBOX).status_code == 302

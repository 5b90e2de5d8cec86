"""The chat widget in real Chromium, on the demo merchant page (the Agent answers in-request)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ai.models import ConfidenceRule
from ai.tests.agent_support import agent_mode, helpcenter, orders  # noqa: F401 (fixtures)
from audit.services import Actor
from billing.models import Outcome, OutcomeStatus
from helpdesk.demo import DEMO_SLUG
from helpdesk.models import Ticket
from helpdesk.services import ticket_reply, workspace_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture
def workspace(db):
    # The demo merchant page signs identities for the demo workspace only.
    return workspace_create(name="Oasis Outfitters", slug=DEMO_SLUG, actor=Actor.system("test"))


@pytest.fixture
def shop(workspace, helpcenter, orders, agent_mode):  # noqa: F811
    # Chat answers go out on their own once the Agent has an answer with sources.
    ConfidenceRule.objects.create(workspace=workspace, channel="chat", ticket_type="", autosend_threshold=0.0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return workspace


def test_it_answers_an_order_question_with_a_citation_and_confirms_on_yes(page: Page, live_server, shop):
    page.goto(f"{live_server.url}/chat/demo/{shop.slug}/?customer=carla@customer.test&name=Carla%20Customer")
    page.locator(".launcher").click()
    compose = page.locator("textarea[name=body]")
    expect(compose).to_be_visible()
    compose.fill("Where is my order A1001? It has not arrived yet.")
    compose.press("Enter")

    reply = page.locator(".msg.theirs.ai")
    expect(reply).to_have_count(1, timeout=20000)
    expect(reply).to_contain_text("A1001")
    expect(reply.locator(".sources li").first).to_contain_text("[1]")
    # The merchant's hostile CSS (hotpink buttons) does not reach into the widget.
    assert page.locator(".send").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(37, 99, 235)"
    page.screenshot(path=str(SCREENSHOTS / "widget-ai-answer.png"))

    page.locator(".feedback .yes").click()
    expect(page.locator(".notice")).to_contain_text("glad it's solved")
    ticket = Ticket.objects.get()
    assert ticket.channel == "chat"
    assert Outcome.objects.get(ticket=ticket).status == OutcomeStatus.CONFIRMED

    # A reload keeps the conversation: the session token is in localStorage.
    page.reload()
    expect(page.locator(".msg.mine")).to_have_count(1, timeout=10000)
    expect(page.locator(".msg.theirs.ai")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "widget-after-reload.png"))


def test_it_hands_a_visitor_who_asks_for_a_human_to_the_team(page: Page, live_server, shop, agent):
    page.goto(f"{live_server.url}/chat/demo/{shop.slug}/")
    page.locator(".launcher").click()
    page.locator("input[name=name]").fill("Hugo Human")
    page.locator("input[name=email]").fill("hugo@customer.test")
    page.locator(".start button").click()
    compose = page.locator("textarea[name=body]")
    compose.fill("Can I talk to a human please?")
    page.locator(".send").click()
    expect(page.locator(".notice")).to_contain_text("a person will answer", timeout=20000)
    expect(page.locator(".msg.theirs")).to_have_count(0)
    ticket = Ticket.objects.get()
    assert ticket.ai_decision == "escalate" and ticket.customer.email == "hugo@customer.test"
    page.screenshot(path=str(SCREENSHOTS / "widget-handoff.png"))

    # Idle, the widget keeps one long-poll waiting instead of asking on a timer...
    polls: list[str] = []
    page.wait_for_timeout(1000)
    page.on("request", lambda r: polls.append(r.url) if "/messages/?" in r.url else None)
    page.wait_for_timeout(3000)
    assert len(polls) <= 1, polls
    # ...and the person's reply from the inbox shows at once, without a reload.
    ticket_reply(ticket=ticket, body="Hi Hugo, Alex here: how can I help?", actor=Actor.for_user(agent))
    expect(page.locator(".msg.theirs")).to_contain_text("Alex here", timeout=3000)

    page.reload()
    expect(page.locator(".msg.mine")).to_contain_text("talk to a human")


def test_it_never_skips_a_reply_that_raced_the_customers_next_message(page: Page, live_server, shop, agent):
    """A person replies while the widget's connection drops; the customer sends before it is
    back. The posted message's (newer) id must not make the widget skip the reply."""
    offline = threading.Event()

    def polls(route):
        if route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch()  # a long-poll: waits server-side for a change
        if offline.is_set():
            route.abort("connectionreset")  # the answer never reaches the page
        else:
            route.fulfill(response=response)

    page.route("**/chat/api/**/messages/?*", polls)
    page.goto(f"{live_server.url}/chat/demo/{shop.slug}/?customer=nina@customer.test&name=Nina")
    page.locator(".launcher").click()
    compose = page.locator("textarea[name=body]")
    compose.fill("Can I talk to a human please?")
    compose.press("Enter")
    expect(page.locator(".notice")).to_contain_text("a person will answer", timeout=20000)

    offline.set()
    ticket = Ticket.objects.get()
    ticket_reply(ticket=ticket, body="Hi Nina, Sam here.", actor=Actor.for_user(agent))
    page.wait_for_timeout(500)  # the waiting long-poll woke for the reply; its answer was lost
    compose.fill("Hello? Anyone there?")
    compose.press("Enter")
    expect(page.locator(".msg.mine")).to_have_count(2, timeout=10000)
    expect(page.locator(".msg.mine").last).not_to_have_class("sending")
    offline.clear()

    reply = page.locator(".msg.theirs")
    expect(reply).to_contain_text("Sam here", timeout=10000)
    # Shown in the order it was written: above the message sent after it.
    order = page.locator(".log .msg").evaluate_all("items => items.map(i => i.textContent)")
    assert [i for i, text in enumerate(order) if "Sam here" in text or "Anyone there" in text] == [1, 2], order
    assert "Sam here" in order[1]
    page.unroute_all(behavior="ignoreErrors")  # a long-poll is still waiting in the handler


@contextmanager
def merchant_site(html: str):
    """A merchant's page on another origin (its own port on loopback) that embeds our widget."""
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/product"
    finally:
        server.shutdown()
        server.server_close()


def test_it_refuses_a_forged_identity_from_another_origin_and_falls_back_to_asking(page: Page, live_server, shop):
    # A merchant site on another origin: the widget calls our API cross-origin (CORS).
    forged = "eyJlbWFpbCI6ImJvc3NAYWNtZS50ZXN0IiwiZXhwIjo5OTk5OTk5OTk5fQ.00"
    html = (
        f'<html><body><h1>Other shop</h1><script src="{live_server.url}/static/widget/oasis-chat.js" '
        f'data-workspace="{shop.slug}" data-identity-token="{forged}"></script></body></html>'
    )
    with merchant_site(html) as shop_url:
        page.goto(shop_url)
        page.locator(".launcher").click()
        expect(page.locator(".error")).to_contain_text("signature does not match")
        page.locator("input[name=name]").fill("Vera Visitor")
        page.locator("input[name=email]").fill("vera@customer.test")
        page.locator(".start button").click()
        page.locator("textarea[name=body]").fill("Do you ship to Canada?")
        page.locator(".send").click()
        expect(page.locator(".msg.mine")).to_have_count(1)
        expect(page.locator(".msg.mine.sending")).to_have_count(0, timeout=10000)
        page.screenshot(path=str(SCREENSHOTS / "widget-cross-origin-unverified.png"))
    ticket = Ticket.objects.get()
    assert ticket.customer.email == "vera@customer.test"
    assert ticket.chat_sessions.get().verified is False


def test_a_returning_signed_in_visitor_continues_their_open_conversation(page: Page, browser, live_server, shop):
    url = f"{live_server.url}/chat/demo/{shop.slug}/?customer=carla@customer.test&name=Carla%20Customer"
    page.goto(url)
    page.locator(".launcher").click()
    page.locator("textarea[name=body]").fill("Where is my order A1001? It has not arrived yet.")
    page.locator("textarea[name=body]").press("Enter")
    expect(page.locator(".msg.theirs.ai")).to_have_count(1, timeout=20000)

    # Another device (no stored session), a new page view with a new signed token: same chat.
    later = browser.new_context(viewport={"width": 390, "height": 844})
    phone = later.new_page()
    phone.goto(url)
    phone.locator(".launcher").click()
    expect(phone.locator(".msg.mine")).to_have_count(1, timeout=10000)
    expect(phone.locator(".msg.theirs.ai")).to_have_count(1)
    phone.locator("textarea[name=body]").fill("Thanks! And can I change the delivery address?")
    phone.locator("textarea[name=body]").press("Enter")
    expect(phone.locator(".msg.mine")).to_have_count(2, timeout=10000)
    ticket = Ticket.objects.get()
    for _ in range(100):  # the bubble shows at once; the server stores it a moment later
        if ticket.messages.filter(kind="customer").count() == 2:
            break
        phone.wait_for_timeout(100)
    assert ticket.messages.filter(kind="customer").count() == 2
    assert Ticket.objects.count() == 1
    phone.screenshot(path=str(SCREENSHOTS / "widget-returning-visitor.png"))
    later.close()

    # A visitor who only types the same address proves nothing: a new conversation of their own.
    stranger = browser.new_context()
    other = stranger.new_page()
    other.goto(f"{live_server.url}/chat/demo/{shop.slug}/")
    other.locator(".launcher").click()
    other.locator("input[name=name]").fill("Not Carla")
    other.locator("input[name=email]").fill("carla@customer.test")
    other.locator(".start button").click()
    expect(other.locator("textarea[name=body]")).to_be_visible()
    expect(other.locator(".msg")).to_have_count(0)
    stranger.close()

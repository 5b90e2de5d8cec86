"""The main pages under the Content-Security-Policy in real Chromium: no violation on any of them
(the browser reports each one on the console and as a `securitypolicyviolation` event), and
the parts that used inline styles or scripts (meters, bars, htmx, the widget) still work."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from ai.models import TrialRun, TrialStatus
from ai.tests import tools_support
from ai.tests.agent_support import helpcenter, new_ticket  # noqa: F401 (fixture)
from ai.tests.tools_support import held_refund
from audit.services import Actor
from conftest import PASSWORD
from helpdesk.channels.identity import magic_link_token, portal_token
from helpdesk.demo import DEMO_SLUG
from helpdesk.models import Article, MagicLink, Ticket
from helpdesk.services import workspace_create
from helpdesk.services_identity import magic_link_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

shop = tools_support.shop
SLOW = 20_000

# Kept on the page across navigations: every violation of each page, read after it loads.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def workspace(db):
    # The widget's demo merchant page serves the demo workspace only.
    return workspace_create(name="Oasis Outfitters", slug=DEMO_SLUG, actor=Actor.system("test"))


@pytest.fixture
def staff_manager(manager):
    manager.is_staff = manager.is_superuser = True
    manager.save()
    return manager


@pytest.fixture
def pages_data(workspace, helpcenter, shop, staff_manager):  # noqa: F811
    ticket = new_ticket(workspace, "How long does standard delivery take for a rain jacket?", subject="Delivery time")
    Ticket.objects.filter(pk=ticket.pk).update(ai_decision="draft", ai_confidence=0.72)
    refund = new_ticket(workspace, "Please refund order A1002, 150.00.", subject="Refund please")
    held_refund(refund)
    unproven = new_ticket(workspace, "Please change my e-mail to carla@new.test.", subject="New e-mail", verified=False)
    # The Agent's run on the ticket may have e-mailed the link already.
    link = magic_link_send(ticket=unproven, actor=Actor.system("test")) or MagicLink.objects.get(ticket=unproven)
    trial = TrialRun.objects.create(workspace=workspace, params={}, status=TrialStatus.DONE, report={"tickets": []})
    article = Article.objects.filter(workspace=workspace)[0]
    return {
        "ticket": ticket,
        "refund": refund,
        "trial": trial,
        "article": article,
        "manager": staff_manager,
        "magic_link": magic_link_token(link_id=link.pk, nonce=link.nonce),
    }


@pytest.fixture
def csp_page(page: Page) -> Any:
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            console.append(message.text)

    page.on("console", on_console)
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = console  # type: ignore[attr-defined]
    return page


def visit(page: Page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    events = page.evaluate("window.__csp")
    assert events == [] and page.csp_console == [], f"{url}: {events} {page.csp_console}"  # type: ignore[attr-defined]


def test_it_shows_the_main_pages_without_a_csp_violation(csp_page: Page, live_server, workspace, pages_data):
    page, base = csp_page, live_server.url
    for url in ["/accounts/login/", "/signup/", f"/help/{workspace.slug}/", f"/help/{workspace.slug}/contact/"]:
        visit(page, base + url)
    visit(page, f"{base}/help/{workspace.slug}/{pages_data['article'].slug}/")
    visit(page, f"{base}/portal/{portal_token(pages_data['ticket'].pk)}/")
    # The magic link's page, and the page its confirmation answers with.
    visit(page, f"{base}/portal/verify/{pages_data['magic_link']}/")
    page.click("button:has-text('confirm it')")
    expect(page.locator("h1")).to_contain_text("you're confirmed")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == [] and page.csp_console == []  # type: ignore[attr-defined]

    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", pages_data["manager"].email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base}/inbox/")

    ticket, refund, trial = pages_data["ticket"], pages_data["refund"], pages_data["trial"]
    for url in [
        "/inbox/",
        "/approvals/",
        "/reports/",
        "/trust/",
        "/trial/",
        f"/trial/{trial.pk}/",
        f"/audit/tickets/{ticket.pk}/",
        "/billing/calculator/",
        "/admin/",
        "/admin/helpdesk/ticket/",
        "/admin/ai/toolpermission/",
        "/admin/audit/auditevent/",
        f"/admin/audit/auditevent/ticket/{ticket.pk}/timeline/",
        "/admin/billing/invoice/",
        f"/admin/ai/actionrequest/{refund.action_requests.get().pk}/change/",
    ]:
        visit(page, base + url)

    # The ticket page: its meter is an SVG bar that still shows the confidence, and the Copilot
    # sidebar (loaded over htmx) draws its meter the same way.
    visit(page, f"{base}/inbox/tickets/{ticket.pk}/")
    fill = page.locator(".meter rect")
    assert fill.get_attribute("width") == "72%"
    fill_box, track_box = fill.bounding_box(), page.locator(".meter").bounding_box()
    assert fill_box is not None and track_box is not None
    assert 70 < fill_box["width"] / track_box["width"] * 100 < 74
    expect(page.locator("#copilot [role=meter] .cp-meter-fill")).to_have_attribute(
        "width", re.compile(r"^\d+%$"), timeout=SLOW
    )
    assert page.evaluate("window.__csp") == [] and page.csp_console == []  # type: ignore[attr-defined]


def test_it_runs_the_chat_widget_under_the_policy(csp_page: Page, live_server, workspace, helpcenter, monkeypatch):  # noqa: F811
    # Short long-polls: none may still be reading when the test database is flushed.
    monkeypatch.setattr("helpdesk.channels.widget.LONG_POLL_MAX_S", 0.5)
    page = csp_page
    visit(page, f"{live_server.url}/chat/demo/{workspace.slug}/")
    page.locator(".launcher").click()
    page.fill("input[name=name]", "Carla Customer")
    page.fill("input[name=email]", "carla@customer.test")
    page.locator("form.start button[type=submit]").click()
    compose = page.locator("textarea[name=body]")
    expect(compose).to_be_visible(timeout=SLOW)
    compose.fill("How long does delivery take?")
    compose.press("Enter")
    expect(page.locator(".msg.mine")).to_have_count(1, timeout=SLOW)
    assert page.evaluate("window.__csp") == [] and page.csp_console == []  # type: ignore[attr-defined]
    page.goto("about:blank")
    page.wait_for_timeout(1000)

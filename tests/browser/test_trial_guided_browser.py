"""The guided trial in real Chromium, from a fresh workspace: a help center by URL (a local
Zendesk-shaped server), a CSV of tickets mapped on its preview, the run, and the review of the
drafts beside what the shop's agents answered; screenshots at 1280 and 390 px wide."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ai.models import TrialRun
from ai.tests.trial_support import enable_shop_tools
from conftest import PASSWORD
from helpdesk.tests.site_server import zendesk_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
pytest_plugins = ["helpdesk.tests.site_server"]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CSV = (
    "Ticket,Email,Name,Question,Created,Our answer\n"
    'Z-1,rita@customer.test,Rita,"How many days do I have to return an item?",2026-03-18,"You have 30 days, Rita."\n'
    'Z-2,sam@customer.test,Sam,"How long does standard delivery take?",2026-03-18,Three to five days.\n'
    'Z-3,lee@customer.test,Lee,"My lawyer will sue you over the broken tent.",2026-03-19,\n'
)


def test_a_new_workspace_walks_the_guided_trial_to_the_review(
    page: Page, live_server, manager, workspace, serve, settings, tmp_path
):
    settings.OASIS_CRAWL_DELAY = 0.0
    enable_shop_tools(workspace)
    site = zendesk_site(serve)
    tickets = tmp_path / "tickets.csv"
    tickets.write_text(CSV)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", manager.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")

    page.goto(f"{live_server.url}/trial/")
    expect(page.get_by_role("heading", name="Try it on your own data")).to_be_visible()
    page.fill("#id_helpcenter_url", f"{site.url}/hc/en-us")
    page.select_option("#id_helpcenter_kind", "zendesk")
    page.click("button:has-text('Next: your tickets')")

    expect(page.get_by_role("heading", name="2. Your tickets")).to_be_visible()
    page.set_input_files("#id_tickets_file", str(tickets))
    page.click("button:has-text('Read the tickets')")
    expect(page.locator("#csv-preview")).to_contain_text("How many days do I have to return an item?")
    expect(page.locator("#id_body")).to_have_value("Question")  # guessed from the column's name
    page.select_option("#id_agent_reply", "Our answer")
    page.click("button:has-text('Use these columns')")
    expect(page.locator("#tickets-found")).to_contain_text("3 tickets read (csv)")

    page.fill("#id_sample", "3")
    page.click("button:has-text('Run the trial')")
    trial = TrialRun.objects.get(workspace=workspace)
    expect(page.locator("article.trial-row")).to_have_count(3, timeout=60_000)
    trial.refresh_from_db()
    assert trial.status == "done", trial.error
    returns = page.locator("article[data-external-id='Z-1']")
    expect(returns).to_contain_text("What your agent answered")
    expect(returns).to_contain_text("You have 30 days, Rita.")
    expect(returns.locator(".trial-draft")).to_contain_text("30 days")
    expect(returns.get_by_role("link", name="Returns and refunds")).to_have_attribute(
        "href", f"{site.url}/hc/en-us/articles/1"
    )
    expect(page.locator("article[data-external-id='Z-3']")).to_contain_text("human-needed type: legal")
    expect(page.locator("#calculator-link")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "trial-guided-review-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.locator("article.trial-row")).to_have_count(3)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1  # nothing wider than the phone
    page.screenshot(path=str(SCREENSHOTS / "trial-guided-review-390.png"), full_page=True)

    page.click("#calculator-link")
    expect(page.locator("#id_tickets")).to_have_value("3")

"""The trial report page in real Chromium: a reviewer marks drafts and the rates update."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from ai.models import TrialMark, TrialRun
from ai.tests.trial_support import NOW, enable_shop_tools, write_inputs
from conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_a_manager_marks_drafts_and_sees_the_rates(page: Page, live_server, manager, workspace, tmp_path):
    enable_shop_tools(workspace)
    inputs = write_inputs(tmp_path / "inputs")
    call_command(
        "trial",
        "--workspace",
        workspace.slug,
        "--helpcenter",
        str(inputs["helpcenter"]),
        "--tickets",
        str(inputs["tickets"]),
        "--orders",
        str(inputs["orders"]),
        "--now",
        NOW,
        "--out",
        str(tmp_path / "report.json"),
    )
    trial = TrialRun.objects.get(workspace=workspace)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", manager.email)
    page.fill("#id_password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.goto(f"{live_server.url}/trial/{trial.pk}/")
    expect(page.get_by_role("heading", name=f"Trial {trial.pk}")).to_be_visible()
    expect(page.locator("article.trial-row")).to_have_count(5)
    expect(page.locator("#marked-count")).to_have_text("0 / 5")

    legal = page.locator("article[data-external-id='T-3']")
    expect(legal).to_contain_text("human-needed type: legal")
    legal.get_by_role("button", name="Made things up").click()
    expect(page.locator("#hallucination-rate")).to_have_text("100 %")
    expect(legal.get_by_role("button", name="Made things up")).to_have_attribute("aria-pressed", "true")

    page.locator("article[data-external-id='T-2']").get_by_role("button", name="Good").click()
    expect(page.locator("#marked-count")).to_have_text("2 / 5")
    expect(page.locator("#accuracy-rate")).to_have_text("50 %")
    expect(page.locator("#hallucination-rate")).to_have_text("50 %")
    page.locator("article[data-external-id='T-5']").get_by_role("button", name="Good").click()
    expect(page.locator("#accuracy-rate")).to_have_text("67 %")
    expect(page.locator("#calibration tr").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "trial-report.png"), full_page=True)
    assert dict(TrialMark.objects.filter(trial=trial).values_list("external_id", "mark")) == {
        "T-3": "made_things_up",
        "T-2": "good",
        "T-5": "good",
    }

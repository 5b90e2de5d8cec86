"""Helpers of the browser tests: sign in, and look at a page at both widths the staff use.

`look_at` saves a screenshot at 1280 and at 390 px (var/screenshots/, not committed), asserts
the page does not scroll sideways, and runs axe-core (vendored in tests/browser/vendor/) for
the WCAG 2 A/AA rules, colour contrast included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
WIDTHS = ((1280, 900), (390, 844))
SLOW = 30_000  # ms: the AI runs inside the live server on a shared 2-core machine


QUESTION = "Hi! How long does standard delivery take? I ordered a rain jacket yesterday and need it for a trip."


def delivery_question(workspace: Any) -> Any:
    """A verified customer's question the demo help center answers (the Copilot drafts it)."""
    from ai.tests.agent_support import new_ticket

    return new_ticket(workspace, QUESTION, subject="How long does delivery take?")


def log_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(f"{base_url}/inbox/")


def axe_violations(page: Page, *, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """WCAG 2 A and AA violations on the page as it is now (each with its failing nodes)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the page's CSP (script-src 'self') refuses an
        # inline <script>, and must keep refusing it.
        page.evaluate(AXE)
    result: dict[str, Any] = page.evaluate(
        """async (exclude) => await axe.run({exclude: exclude.map(s => [s])},
            {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}, resultTypes: ['violations']})""",
        list(exclude),
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in result["violations"]
    ]


def look_at(page: Page, name: str, *, axe: bool = True, exclude: tuple[str, ...] = ()) -> None:
    """Screenshots at both widths; no sideways scrolling and no WCAG AA violation at either."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        # Loaded at this width, as a phone would (the inbox folds its filters on load).
        page.reload()
        page.wait_for_load_state("load")
        page.wait_for_timeout(800)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-top.png"))
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} at {width}px scrolls sideways ({scroll}px wide)"
        if axe:
            problems = axe_violations(page, exclude=exclude)
            assert not problems, f"{name} at {width}px: {problems}"
    page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
    page.reload()

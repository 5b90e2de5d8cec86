"""The guided trial through HTTP: a help center by URL (a local Zendesk-shaped server), a CSV of
tickets mapped on its preview, orders whose status words the shop explains, the run, the review
beside the agents' real replies, and the calculator pre-filled with the trial's figures."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ai.models import TrialRun
from ai.tests.trial_support import ORDERS, enable_shop_tools
from conftest import PASSWORD
from helpdesk.models import OrderStatusWord
from helpdesk.tests.site_server import zendesk_site
from helpdesk.tests.ticket_exports import FRESHDESK

pytest_plugins = ["helpdesk.tests.site_server"]

CSV = (
    "Ticket,Email,Name,Question,Created,Our answer\n"
    'Z-1,rita@customer.test,Rita,"How many days do I have to return an item?",2026-03-18,You have 30 days.\n'
    'Z-2,sam@customer.test,Sam,"Where is my order B2002?",2026-03-18,It ships today.\n'
    "Z-3,broken,Nobody,Hello,2026-03-18,\n"
)


@pytest.fixture
def manager_client(client, manager):
    client.login(username=manager.email, password=PASSWORD)
    return client


def upload(name: str, content: str | bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode() if isinstance(content, str) else content)


def test_a_manager_is_guided_from_a_url_to_the_review(
    manager_client, workspace, serve, settings, django_capture_on_commit_callbacks
):
    settings.OASIS_CRAWL_DELAY = 0.0
    enable_shop_tools(workspace)
    site = zendesk_site(serve)
    response = manager_client.post("/trial/", {"helpcenter_url": f"{site.url}/hc/en-us", "helpcenter_kind": "zendesk"})
    trial = TrialRun.objects.get(workspace=workspace)
    assert response.status_code == 302 and response["Location"] == f"/trial/{trial.pk}/"
    assert trial.status == "setup" and trial.params["helpcenter_url"] == f"{site.url}/hc/en-us"
    assert "2. Your tickets" in manager_client.get(f"/trial/{trial.pk}/").content.decode()

    assert manager_client.post(f"/trial/{trial.pk}/tickets/", {"tickets_file": upload("t.csv", CSV)}).status_code == 302
    page = manager_client.get(f"/trial/{trial.pk}/").content.decode()
    assert 'id="csv-preview"' in page and "How many days do I have to return an item?" in page
    mapping = {"external_id": "Ticket", "body": "Question", "customer_email": "Email", "agent_reply": "Our answer"}
    assert manager_client.post(f"/trial/{trial.pk}/columns/", mapping).status_code == 302
    page = manager_client.get(f"/trial/{trial.pk}/").content.decode()
    assert "<strong>2</strong> tickets read (csv), 1 row left out" in page

    orders = json.loads(json.dumps(ORDERS))
    orders["orders"][1]["status"] = "in_transit"
    response = manager_client.post(f"/trial/{trial.pk}/orders/", {"orders_file": upload("o.json", json.dumps(orders))})
    assert response.status_code == 302
    assert "<code>in_transit</code>" in manager_client.get(f"/trial/{trial.pk}/").content.decode()
    manager_client.post(f"/trial/{trial.pk}/statuses/", {"status:in_transit": "shipped"})
    assert OrderStatusWord.objects.get(workspace=workspace).status == "shipped"

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(f"/trial/{trial.pk}/start/", {"sample": "", "now": "2026-03-20T12:00:00Z"})
    trial.refresh_from_db()
    assert response.status_code == 302 and trial.status == "done", trial.error
    assert trial.report["summary"]["helpcenter"]["created"] == 3
    page = manager_client.get(f"/trial/{trial.pk}/").content.decode()
    assert "What your agent answered" in page and "You have 30 days." in page
    tickets = {t["external_id"]: t for t in trial.report["tickets"]}
    assert {c["url"] for c in tickets["Z-1"]["citations"]} <= {f"{site.url}/hc/en-us/articles/1"}
    calculator = next(line for line in page.splitlines() if 'id="calculator-link"' in line)
    query = parse_qs(urlsplit(calculator.split('href="')[1].split('"')[0].replace("&amp;", "&")).query)
    assert query["tickets"] == ["2"]
    assert query["resolution_rate"] == [trial.report["summary"]["cost"]["inputs"]["resolution_rate"]]


def test_each_step_checks_its_input_first_and_says_why(manager_client, workspace, serve):
    site = zendesk_site(serve)
    manager_client.post("/trial/", {"helpcenter_url": f"{site.url}/hc/en-us"})
    trial = TrialRun.objects.get(workspace=workspace)
    wrong = manager_client.post(
        f"/trial/{trial.pk}/tickets/",
        {"tickets_file": upload("fd.json", json.dumps(FRESHDESK)), "tickets_format": "zendesk"},
    )
    assert wrong.status_code == 400 and "not a Zendesk tickets export" in wrong.content.decode()
    bad_orders = manager_client.post(f"/trial/{trial.pk}/orders/", {"orders_file": upload("o.json", "{nope")})
    assert bad_orders.status_code == 400 and "not valid JSON" in bad_orders.content.decode()
    early = manager_client.post(f"/trial/{trial.pk}/start/", {"sample": "5"})
    assert early.status_code == 400 and "Add your tickets first." in early.content.decode()
    trial.refresh_from_db()
    assert trial.status == "setup" and not trial.params.get("tickets")


def test_the_setup_steps_are_a_404_to_agents_and_outsiders(client, agent, outsider, manager, workspace, serve):
    client.login(username=manager.email, password=PASSWORD)
    client.post("/trial/", {"helpcenter_url": "https://help.example.test/"})
    trial = TrialRun.objects.get(workspace=workspace)
    for user in (agent, outsider):
        client.login(username=user.email, password=PASSWORD)
        for step in ("tickets", "columns", "orders", "statuses", "start"):
            assert client.post(f"/trial/{trial.pk}/{step}/", {"sample": "1"}).status_code == 404
        assert client.get(f"/trial/{trial.pk}/").status_code == 404
    trial.refresh_from_db()
    assert trial.status == "setup"

"""Bad input at the edge: NUL, lone surrogates, impossible dates and deep JSON are a 400 with a
message (never a 500), on each endpoint that would otherwise hand them to Postgres or the stack."""

from __future__ import annotations

import json

import pytest

from ai.models import ActionRequest, ActionStatus, AgentPause, TrialRun
from ai.tests import tools_support
from ai.tests.agent_support import helpcenter  # noqa: F401 (fixture)
from ai.tests.tools_support import held_refund, verified
from helpdesk.models import Ticket
from helpdesk.tests.channels_support import api, start_visitor

shop = tools_support.shop
pytest_plugins = ["tests.edge_support"]

NUL = "\x00"
SURROGATE = "\ud800"


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def assert_refused(response, status=400):
    assert response.status_code == status, response.content[:300]
    assert response.content.strip(), "a refusal carries a message"
    assert b"Traceback" not in response.content


# ----------------------------------------------------------------------------- public pages


@pytest.mark.parametrize("query", ["q=%00", "q=a%00b", "%00=1"])
def test_it_refuses_nul_in_the_help_center_search(client, workspace, helpcenter, query):  # noqa: F811
    response = client.get(f"/help/{workspace.slug}/?{query}")
    assert_refused(response)
    assert response["Content-Type"].startswith("text/plain")
    assert b"NUL" in response.content


def test_it_refuses_nul_in_the_contact_suggestions(client, workspace, helpcenter):  # noqa: F811
    assert_refused(client.get(f"/help/{workspace.slug}/contact/suggest/?q=where%00"))


def test_it_refuses_nul_in_the_contact_form_and_files_nothing(client, workspace, helpcenter):  # noqa: F811
    # An invalid form is shown again with suggested articles: a search for what was typed.
    form = {"name": "Carla", "email": "not an address", "subject": "Refund\x00", "message": "How do I return it?"}
    assert_refused(client.post(f"/help/{workspace.slug}/contact/", form))
    assert not Ticket.objects.exists()


def test_it_refuses_nul_in_a_portal_link(client, db):
    assert_refused(client.get("/portal/%00/"))


# ---------------------------------------------------------------------------- chat widget


@pytest.mark.parametrize(
    "body",
    [
        {"name": f"Carla{NUL}", "email": "carla@customer.test"},
        {"name": f"Carla{SURROGATE}", "email": "carla@customer.test"},
        {"name": "Carla", "email": f"carla{SURROGATE}@customer.test"},
    ],
)
def test_it_refuses_bad_characters_when_a_chat_starts(client, workspace, body):
    response = client.post(api(workspace, "sessions"), data=json.dumps(body), content_type="application/json")
    assert_refused(response)
    assert response.json()["error"] == "invalid_input"
    assert response["Access-Control-Allow-Origin"] == "*"  # the merchant page can read why


@pytest.mark.parametrize("field", ["body", "client_id"])
@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_it_refuses_bad_characters_in_a_chat_message(client, workspace, field, bad):
    token = start_visitor(client, workspace)
    payload = {"client_id": "c-1", "body": "Where is my order?"}
    payload[field] = f"x{bad}y"
    response = client.post(
        api(workspace, "messages"),
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_X_OASIS_SESSION=token,
    )
    assert_refused(response)
    assert not Ticket.objects.exists()


def test_it_refuses_deep_json_in_the_widget_whatever_the_content_type(client, workspace):
    token = start_visitor(client, workspace)
    body = '{"client_id": "c", "body": ' + deep(5000) + "}"
    for content_type in ("application/json", "text/plain"):
        response = client.post(
            api(workspace, "messages"), data=body, content_type=content_type, HTTP_X_OASIS_SESSION=token
        )
        assert_refused(response)
        assert "nested" in response.json()["detail"]


# -------------------------------------------------------------------------------- the API


@pytest.mark.parametrize("levels", [65, 1000, 100_000])
def test_it_refuses_deeply_nested_json_in_the_api(token_client, levels):
    body = '{"customer_email": "c@customer.test", "subject": "x", "body": "y", "extra": ' + deep(levels) + "}"
    response = token_client.post("/api/v1/tickets/", data=body, content_type="application/json")
    assert_refused(response)
    assert not Ticket.objects.exists()


def test_it_refuses_a_lone_surrogate_in_the_api(token_client):
    body = '{"customer_email": "c@customer.test", "subject": "\\ud800", "body": "y"}'
    response = token_client.post("/api/v1/tickets/", data=body, content_type="application/json")
    assert_refused(response)
    assert not Ticket.objects.exists()


def test_it_still_accepts_reasonable_nesting_in_the_api(token_client):
    body = {"customer_email": "c@customer.test", "subject": "Nested", "body": "ok", "extra": [[[[{"a": [1]}]]]]}
    response = token_client.post("/api/v1/tickets/", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content


# ------------------------------------------------------------------------ staff pages


def test_it_refuses_nul_in_an_approval_note(manager_client, ticket, shop):
    action = held_refund(verified(ticket))
    response = manager_client.post(f"/approvals/{action.pk}/decide/", {"decision": "approve", "note": "ok\x00"})
    assert_refused(response)
    action.refresh_from_db()
    assert action.status == ActionStatus.PENDING


@pytest.mark.parametrize("field", ["reason", "next"])
def test_it_refuses_nul_in_the_kill_switch(manager_client, workspace, field):
    form = {"action": "pause", "channel": "", "reason": "bad day", "next": "/inbox/"}
    form[field] += NUL
    assert_refused(manager_client.post("/reports/kill-switch/", form))
    assert not AgentPause.objects.exists()


def test_it_refuses_nul_in_a_trial_mark(manager_client, workspace, manager):
    trial = TrialRun.objects.create(workspace=workspace, params={}, created_by=manager)
    assert_refused(manager_client.post(f"/trial/{trial.pk}/mark/", {"external_id": "t\x00", "mark": "good"}))


@pytest.mark.parametrize(
    "url",
    [
        "/admin/autocomplete/?app_label=helpdesk&model_name=ticket&field_name=customer&term=%00",
        "/admin/helpdesk/ticket/?q=%00",
    ],
)
def test_it_refuses_nul_in_admin_searches(superuser_client, ticket, url):
    assert_refused(superuser_client.get(url))


# ------------------------------------------------------------------------- audit export


@pytest.mark.parametrize(
    "query",
    [
        "since=2026-02-30",
        "until=2026-13-01",
        "since=2026-01-01T25:00:00",
        "until=<script>alert(1)</script>",
        "since=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    ],
)
def test_it_refuses_bad_export_dates_in_plain_text_without_echoing_them(manager_client, workspace, query):
    response = manager_client.get(f"/audit/export.jsonl?{query}")
    assert_refused(response)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert b"<" not in response.content and b"2026" not in response.content
    assert b"must be a date" in response.content


def test_it_still_exports_a_valid_range(manager_client, workspace):
    response = manager_client.get("/audit/export.jsonl?since=2026-01-01&until=2026-01-31T12:00:00Z")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).splitlines()
    assert json.loads(lines[0])["workspace"]


def test_it_still_accepts_ordinary_text_everywhere(manager_client, ticket, shop):
    action = held_refund(verified(ticket))
    response = manager_client.post(f"/approvals/{action.pk}/decide/", {"decision": "reject", "note": "Nein — ø 🙂"})
    assert response.status_code == 302
    assert ActionRequest.objects.get(pk=action.pk).note == "Nein — ø 🙂"

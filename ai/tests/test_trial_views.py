"""The trial pages: start from the page (django-q2 runs inline in tests), the report, marks -> rates."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from ai.models import TrialMark, TrialRun
from ai.tests.trial_support import NOW, enable_shop_tools
from ai.trial.report import review_figures
from conftest import PASSWORD

pytest_plugins = ["ai.tests.trial_support"]


@pytest.fixture
def trial(workspace, trial_inputs, tmp_path):
    enable_shop_tools(workspace)
    call_command(
        "trial",
        "--workspace",
        workspace.slug,
        "--helpcenter",
        str(trial_inputs["helpcenter"]),
        "--tickets",
        str(trial_inputs["tickets"]),
        "--orders",
        str(trial_inputs["orders"]),
        "--now",
        NOW,
        "--out",
        str(tmp_path / "r.json"),
    )
    return TrialRun.objects.get(workspace=workspace)


def test_it_turns_marks_into_rates():
    tickets = [
        {"external_id": "a", "confidence": 0.9},
        {"external_id": "b", "confidence": 0.95},
        {"external_id": "c", "confidence": 0.3},
        {"external_id": "d", "confidence": 0.5},
        {"external_id": "e", "confidence": 0.7},
    ]
    marks = {"a": "good", "b": "good", "c": "made_things_up", "d": "wrong"}
    figures = review_figures(tickets, marks)
    assert figures["marked"] == 4
    assert figures["accuracy_rate"] == 0.5
    assert figures["hallucination_rate"] == 0.25
    assert figures["usable_rate"] == 0.5
    top = figures["calibration"][-1]
    assert (top["n"], top["mean_confidence"], top["good_rate"]) == (2, 0.925, 1.0)
    low = figures["calibration"][1]
    assert (low["n"], low["good_rate"]) == (1, 0.0)
    # |0.925-1|*2/4 + |0.3-0|*1/4 + |0.5-0|*1/4
    assert figures["calibration_error"] == round(0.075 * 0.5 + 0.3 * 0.25 + 0.5 * 0.25, 4)


def test_it_shows_the_drafts_and_records_marks(client, manager, trial):
    client.login(username=manager.email, password=PASSWORD)
    page = client.get(f"/trial/{trial.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "T-1" in html and "T-6" in html and "awaiting_approval" in html
    assert "human-needed type: legal" in html
    response = client.post(
        f"/trial/{trial.pk}/mark/", {"external_id": "T-3", "mark": "made_things_up"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'hx-swap-oob="true"' in body and "100 %" in body
    client.post(f"/trial/{trial.pk}/mark/", {"external_id": "T-2", "mark": "good"}, HTTP_HX_REQUEST="true")
    client.post(f"/trial/{trial.pk}/mark/", {"external_id": "T-3", "mark": "wrong"})  # the last mark wins
    assert dict(TrialMark.objects.filter(trial=trial).values_list("external_id", "mark")) == {
        "T-2": "good",
        "T-3": "wrong",
    }
    assert client.post(f"/trial/{trial.pk}/mark/", {"external_id": "T-9", "mark": "good"}).status_code == 400
    assert client.post(f"/trial/{trial.pk}/mark/", {"external_id": "T-2", "mark": "great"}).status_code == 400
    download = client.get(f"/trial/{trial.pk}/report.json")
    assert download.json()["tickets"][0]["external_id"] == "T-1"


def test_it_hides_trials_from_agents_and_outsiders(client, agent, outsider, trial):
    for user in (agent, outsider):
        client.login(username=user.email, password=PASSWORD)
        assert client.get(f"/trial/{trial.pk}/").status_code == 404
        assert client.post(f"/trial/{trial.pk}/mark/", {"external_id": "T-2", "mark": "good"}).status_code == 404
    assert not TrialMark.objects.exists()


def test_it_starts_a_trial_from_uploaded_files(
    client, manager, workspace, trial_inputs, django_capture_on_commit_callbacks
):
    enable_shop_tools(workspace)
    client.login(username=manager.email, password=PASSWORD)
    assert client.get("/trial/").status_code == 200
    hc = trial_inputs["helpcenter"]
    with (
        open(hc / "returns.md", "rb") as a,
        open(hc / "shipping.md", "rb") as b,
        open(hc / "password.md", "rb") as c,
        open(trial_inputs["tickets"], "rb") as t,
        open(trial_inputs["orders"], "rb") as o,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(
            "/trial/",
            {"helpcenter_files": [a, b, c], "tickets_file": t, "orders_file": o, "now": NOW, "sample": 3},
        )
    trial = TrialRun.objects.get(workspace=workspace)
    assert response.status_code == 302 and response["Location"] == f"/trial/{trial.pk}/"
    # OASIS_Q_SYNC: the django-q2 task ran on commit.
    assert trial.status == "done" and trial.total == 3 and trial.progress == 3
    assert len(trial.report["tickets"]) == 3
    progress = client.get(f"/trial/{trial.pk}/progress/", HTTP_HX_REQUEST="true")
    assert progress["HX-Refresh"] == "true"


def test_it_refuses_a_start_without_tickets(client, manager):
    client.login(username=manager.email, password=PASSWORD)
    response = client.post("/trial/", {"now": ""})
    assert response.status_code == 200
    assert "Choose or upload a help center and a tickets file." in response.content.decode()
    assert not TrialRun.objects.exists()

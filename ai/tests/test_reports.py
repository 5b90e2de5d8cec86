from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ai.reports.queries import ReportFilter, report
from ai.tests.reports_support import EXPECTED, GIFT_1, GIFT_2, WHOLESALE, _run, _ticket
from conftest import PASSWORD

pytest_plugins = ["ai.tests.reports_support"]


def period(workspace, **kwargs) -> ReportFilter:
    today = timezone.now().astimezone(UTC).date()
    return ReportFilter(
        workspace_id=workspace.pk,
        start=datetime.combine(today - timedelta(days=29), time.min, tzinfo=UTC),
        end=datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC),
        **kwargs,
    )


def login(client, user):
    assert client.login(username=user.email, password=PASSWORD)


def test_it_computes_every_figure_as_counted_by_hand(workspace, report_data):
    data = report(period(workspace, minutes_per_ticket=10), now=timezone.now())

    assert data["volume"]["tickets"] == EXPECTED["tickets"] == sum(d["tickets"] for d in data["volume"]["by_day"])
    assert len(data["volume"]["by_day"]) == 30

    ai = data["ai"]
    assert (ai["runs"], ai["tickets_with_runs"]) == (EXPECTED["runs"], EXPECTED["tickets_with_runs"])
    assert ai["involvement_rate"] == round(9 / 13, 4) and ai["runs_per_ticket"] == round(10 / 13, 4)
    assert {d["decision"]: d["runs"] for d in ai["decisions"]} == EXPECTED["decisions"]
    assert {d["decision"]: d["share"] for d in ai["decisions"]} == {
        "autosend": 0.2,
        "draft": 0.2,
        "escalate": 0.5,
        "awaiting_approval": 0.1,
    }

    res = data["resolution"]
    assert (res["outcomes"], res["durable"], res["charged"], res["cost"]) == (3, 1, 2, Decimal("1.00"))
    assert res["resolution_rate"] == round(3 / 13, 4) and res["durable_rate"] == round(1 / 13, 4)

    assert [(h["reason"], h["tickets"]) for h in data["handoffs"]] == EXPECTED["handoffs"]

    drafts = data["drafts"]
    assert {v["verdict"]: v["drafts"] for v in drafts["verdicts"]} == EXPECTED["verdicts"]
    assert drafts["acceptance_rate"] == 0.6
    assert drafts["discard_reasons"] == [{"reason": "tone", "drafts": 1}, {"reason": "wrong", "drafts": 1}]
    assert [b["accuracy"] for b in drafts["calibration"]["bins"]] == [0.25, 0.75]
    assert drafts["calibration"]["ece"] == 0.05

    appr = data["approvals"]
    assert (appr["requests"], appr["decided"], appr["approved"], appr["rejected"]) == (5, 3, 2, 1)
    assert appr["approval_rate"] == round(2 / 3, 4)
    assert appr["median_seconds"] == EXPECTED["median_seconds"]
    assert appr["p90_seconds"] == EXPECTED["p90_seconds"]
    assert [p["action"] for p in appr["pending"]] == report_data["pending"]  # oldest first
    assert 115 <= appr["pending"][0]["waiting_minutes"] <= 121

    cost = data["cost"]
    # Plan defaults: 0.50 per outcome, 29.00 per seat (2 seats, a full 30-day month), 0.10 per attempt.
    assert cost["per_outcome"] == Decimal("1.00") and cost["outcomes_billed"] == 2
    assert cost["cost_per_resolved_ticket"] == Decimal("0.50")
    assert (cost["seats"], cost["per_seat"]) == (2, Decimal("58.00"))
    assert (cost["attempts"], cost["per_attempt"]) == (10, Decimal("1.00"))
    assert cost["hours_saved"] == 0.5  # 3 resolved tickets x 10 minutes


def test_it_filters_every_figure_by_channel_and_type(workspace, report_data):
    data = report(period(workspace, channel="chat"), now=timezone.now())
    # Chat tickets: T3, T4, T9, T10.
    assert data["volume"]["tickets"] == 4
    assert data["ai"]["runs"] == 4 and data["ai"]["tickets_with_runs"] == 3
    assert data["resolution"]["outcomes"] == 0
    assert [(h["reason"], h["tickets"]) for h in data["handoffs"]] == [
        ("approval_rejected", 1),
        ("human_needed_type", 1),
        ("low_confidence", 1),
    ]
    assert data["approvals"]["requests"] == 5  # all on chat tickets
    refunds = report(period(workspace, channel="chat", ticket_type="refund"), now=timezone.now())
    assert refunds["volume"]["tickets"] == 3
    assert {h["reason"] for h in refunds["handoffs"]} == {"approval_rejected", "low_confidence"}
    for link in refunds["handoffs"]:
        query = parse_qs(urlparse(link["inbox_url"]).query)
        assert query["channel"] == ["chat"] and query["ticket_type"] == ["refund"]


def test_it_links_each_handoff_reason_to_the_inbox_and_its_latest_tickets(workspace, report_data):
    data = report(period(workspace), now=timezone.now())
    by_reason = {h["reason"]: h for h in data["handoffs"]}
    gaps = by_reason["no_matching_article"]
    assert gaps["inbox_url"] == "/inbox/?ai_decision=escalate"
    t = report_data["tickets"]
    # Newest first.
    assert [x["number"] for x in gaps["latest"]] == [t[7].number, t[6].number, t[5].number]
    assert gaps["latest"][0]["url"] == f"/inbox/tickets/{t[7].pk}/"
    assert by_reason["low_confidence"]["inbox_url"] == "/inbox/?ai_decision=draft"


def test_it_clusters_knowledge_gaps_and_prefills_an_article(workspace, report_data):
    gaps = report(period(workspace), now=timezone.now())["knowledge_gaps"]
    assert gaps["questions"] == 3
    assert [c["questions"] for c in gaps["clusters"]] == [2, 1]
    gift, wholesale = gaps["clusters"]
    assert set(gift["samples"]) == {GIFT_1, GIFT_2} and wholesale["samples"] == [WHOLESALE]
    url = urlparse(gift["write_article_url"])
    assert url.path == "/admin/helpdesk/article/add/"
    query = parse_qs(url.query)
    assert query["title"] == [GIFT_2]  # the latest question titles the cluster
    assert GIFT_1 in query["body"][0] and GIFT_2 in query["body"][0]
    assert query["workspace"] == [str(workspace.pk)]


def test_it_embeds_each_distinct_question_once(workspace, report_data, embed_counter):
    report(period(workspace), now=timezone.now())
    report(period(workspace), now=timezone.now())
    assert embed_counter.calls == 1 and sorted(embed_counter.texts) == sorted([GIFT_1, GIFT_2, WHOLESALE])


def test_its_query_count_does_not_grow_with_the_tickets(workspace, report_data):
    f = period(workspace)
    report(f, now=timezone.now())  # warm the embedding cache
    with CaptureQueriesContext(connection) as before:
        report(f, now=timezone.now())
    for n in range(20, 30):
        ticket = _ticket(
            workspace,
            n,
            channel="email",
            ticket_type="other",
            hours_ago=n,
            ai_decision="escalate",
            ai_reason="provider failure: 500",
        )
        _run(ticket, "escalate", "provider failure: 500")
    with CaptureQueriesContext(connection) as after:
        data = report(f, now=timezone.now())
    assert data["volume"]["tickets"] == 23
    assert len(after.captured_queries) == len(before.captured_queries) <= 18


def test_it_shows_the_page_to_managers_with_a_chart_per_figure(client, workspace, manager, report_data):
    login(client, manager)
    response = client.get("/reports/?minutes=10")
    assert response.status_code == 200
    html = response.content.decode()
    for figure in ("volume", "ai", "decisions", "handoffs", "drafts", "approvals", "cost", "knowledge_gaps"):
        section = html.split(f'id="figure-{figure}"', 1)[1].split("</section>", 1)[0]
        assert "<svg" in section and 'class="bar"' in section, figure
        assert f"/reports/csv/{figure}/?" in section
    assert "Write an article" in html and "/admin/helpdesk/article/add/?" in html
    assert "3.0 h" not in html and "0.5 h" in html  # 3 outcomes x 10 min


def test_it_hides_the_page_from_agents(client, agent, report_data):
    login(client, agent)
    assert client.get("/reports/").status_code == 404
    assert client.get("/reports/csv/").status_code == 404
    assert client.get("/reports/api/").status_code == 404
    assert client.post("/reports/kill-switch/", {"action": "pause", "reason": "x"}).status_code == 404


def test_it_never_shows_another_workspaces_figures(client, outsider, report_data):
    login(client, outsider)  # an admin, but of Globex
    data = client.get("/reports/api/").json()
    assert data["volume"]["tickets"] == 0 and data["ai"]["runs"] == 0 and data["handoffs"] == []


def test_it_downloads_a_csv_per_figure_and_one_with_all(client, manager, report_data):
    login(client, manager)
    response = client.get("/reports/csv/decisions/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="oasis-report-decisions-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["decision", "runs", "share"],
        ["autosend", "2", "0.2000"],
        ["draft", "2", "0.2000"],
        ["escalate", "5", "0.5000"],
        ["awaiting_approval", "1", "0.1000"],
    ]
    handoffs = list(csv.reader(io.StringIO(client.get("/reports/csv/handoffs/").content.decode())))
    assert handoffs[1][:2] == ["no_matching_article", "3"]
    everything = client.get("/reports/csv/").content.decode()
    for name in (
        "volume",
        "ai",
        "decisions",
        "handoffs",
        "drafts",
        "calibration",
        "approvals",
        "cost",
        "knowledge_gaps",
    ):
        assert f"# {name}:" in everything
    assert client.get("/reports/csv/nope/").status_code == 404


def test_it_serves_the_same_figures_as_json(client, manager, report_data):
    login(client, manager)
    data = client.get("/reports/api/?channel=chat").json()
    assert data["volume"]["tickets"] == 4 and data["filter"]["channel"] == "chat"
    assert client.get("/reports/api/?start=2026-02-01&end=2026-01-01").status_code == 400

"""manage.py trial on the tests' own fixture: the report contract, shadow mode, re-runs, --now."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from ai.models import ActionRequest, AgentRun, TrialRun
from ai.tests.trial_support import NOW, ORDERS, enable_shop_tools
from ai.trial.inputs import parse_tickets
from ai.trial.report import ACTION_STATUSES, CURVE_THRESHOLDS, DECISIONS, TICKET_KEYS
from audit.models import AuditEvent
from audit.services import Actor
from billing.models import Outcome
from helpdesk.models import CustomerVerification, Message, MessageKind, Order, Ticket, TicketStatus, WorkspaceMode
from helpdesk.shop import orders_load

pytest_plugins = ["ai.tests.trial_support"]


def run_trial(workspace_slug, inputs, tmp_path, now=NOW, name="report.json"):
    out = tmp_path / name
    stdout, stderr = StringIO(), StringIO()
    args = [
        "trial",
        "--workspace",
        workspace_slug,
        "--helpcenter",
        str(inputs["helpcenter"]),
        "--tickets",
        str(inputs["tickets"]),
        "--orders",
        str(inputs["orders"]),
        "--out",
        str(out),
    ]
    if now:
        args += ["--now", now]
    call_command(*args, stdout=stdout, stderr=stderr)
    return json.loads(out.read_text()), stdout.getvalue(), stderr.getvalue()


def by_id(report):
    return {t["external_id"]: t for t in report["tickets"]}


def test_it_writes_a_report_that_follows_the_contract(workspace, trial_inputs, tmp_path):
    enable_shop_tools(workspace)
    report, stdout, stderr = run_trial(workspace.slug, trial_inputs, tmp_path)
    assert set(report) == {"summary", "tickets"}
    assert [t["external_id"] for t in report["tickets"]] == ["T-1", "T-2", "T-3", "T-5", "T-6"]
    for entry in report["tickets"]:
        assert tuple(entry) == TICKET_KEYS
        assert isinstance(entry["ticket_type"], str) and entry["ticket_type"]
        assert isinstance(entry["language"], str) and entry["language"]
        assert isinstance(entry["confidence"], float) and 0 <= entry["confidence"] <= 1
        assert entry["decision"] in DECISIONS
        assert isinstance(entry["reply"], str) and entry["reply"]
        assert isinstance(entry["reason"], str)
        for citation in entry["citations"]:
            assert set(citation) == {"title", "url"}
        for action in entry["actions"]:
            assert set(action) == {"tool", "args", "status"}
            assert action["status"] in ACTION_STATUSES
            assert isinstance(action["args"], dict)
    tickets = by_id(report)
    # The refund over 100 waits for approval (the default rule), as a trial action only.
    assert tickets["T-1"]["decision"] == "awaiting_approval"
    refund = [a for a in tickets["T-1"]["actions"] if a["tool"] == "issue_refund"]
    assert refund == [{"tool": "issue_refund", "args": refund[0]["args"], "status": "pending_approval"}]
    assert refund[0]["args"]["order_number"] == "B2001"
    # The order status is looked up (a read: it ran) and answered from the order.
    assert tickets["T-2"]["ticket_type"] == "order_status"
    assert {"tool": "lookup_order", "args": {"order_number": "B2002"}, "status": "executed"} in tickets["T-2"][
        "actions"
    ]
    assert "JD0002" in tickets["T-2"]["reply"]
    # The legal threat is escalated with its reason; password answered with a citation.
    assert tickets["T-3"]["decision"] == "escalate"
    assert tickets["T-3"]["reason"] == "human-needed type: legal"
    assert "Signing in" in [c["title"] for c in tickets["T-5"]["citations"]]
    assert all(c["url"] for c in tickets["T-5"]["citations"])
    # Cited with the article's own URL (front matter `url`), the one the shop's customers know.
    assert {c["url"] for c in tickets["T-5"]["citations"]} == {"https://shop.test/help/sign-in"}
    # A small in-window refund is simulated, never executed.
    assert [a["status"] for a in tickets["T-6"]["actions"] if a["tool"] == "issue_refund"] == ["simulated"]

    summary = report["summary"]
    assert summary["tickets"] == 5 and summary["tickets_in_file"] == 5
    assert summary["input_errors"] == [
        "tickets.jsonl line 4: not valid JSON (Expecting value at column 35)"
    ] or summary["input_errors"][0].startswith("tickets.jsonl line 4: not valid JSON")
    assert "skipped tickets.jsonl line 4" in stderr
    assert sum(summary["by_decision"].values()) == 5
    assert set(summary["by_decision"]) == set(DECISIONS)
    assert summary["would_autosend_rate"] == summary["by_decision"]["autosend"] / 5
    assert [p["threshold"] for p in summary["autosend_curve"]] == list(CURVE_THRESHOLDS)
    rates = [p["autosend_rate"] for p in summary["autosend_curve"]]
    assert rates == sorted(rates, reverse=True)
    assert summary["escalations_by_reason"]["human-needed type: legal"] == 1
    assert summary["by_type"]["legal"] == 1
    cost = summary["cost"]
    assert set(cost) >= {"per_seat", "per_attempt", "per_outcome", "currency", "inputs"}
    assert cost["inputs"]["tickets"] == 5
    assert "report:" in stdout


def test_it_sends_executes_and_bills_nothing(workspace, trial_inputs, tmp_path):
    enable_shop_tools(workspace)
    orders_load(workspace=workspace, data=ORDERS, actor=Actor.system("test"))
    before = {o.number: (o.status, o.total, o.shipping_address) for o in Order.objects.filter(workspace=workspace)}
    run_trial(workspace.slug, trial_inputs, tmp_path)
    after = {o.number: (o.status, o.total, o.shipping_address) for o in Order.objects.filter(workspace=workspace)}
    assert after == before
    sandbox = TrialRun.objects.get(workspace=workspace).sandbox
    for space in (workspace, sandbox):
        assert not Message.objects.filter(ticket__workspace=space, kind=MessageKind.REPLY).exists()
        assert not ActionRequest.objects.filter(workspace=space).exists()
        assert not Outcome.objects.filter(workspace=space).exists()
        assert not AuditEvent.objects.filter(workspace=space, kind__startswith="shop.").exists()
        assert not AuditEvent.objects.filter(workspace=space, kind="message.replied").exists()
    assert mail.outbox == []
    statuses = AuditEvent.objects.filter(workspace=sandbox, kind="ai.tool_called").values_list(
        "data__tool", "data__status"
    )
    assert ("issue_refund", "executed") not in set(statuses)
    # The Agent ran in trial runs only, in the sandbox, with the live workspace's mode left as it was.
    assert not AgentRun.objects.filter(workspace=workspace).exists()
    assert set(AgentRun.objects.filter(workspace=sandbox).values_list("kind", flat=True)) == {"trial"}
    workspace.refresh_from_db()
    assert workspace.mode == WorkspaceMode.COPILOT
    # Trial tickets are marked and closed: none waits in a working queue, and none is in the live inbox.
    assert not Ticket.objects.filter(workspace=workspace).exists()
    trial_tickets = Ticket.objects.filter(workspace=sandbox, external_id__startswith="trial:")
    assert trial_tickets.count() == 5
    assert set(trial_tickets.values_list("status", flat=True)) == {TicketStatus.CLOSED}


def test_a_trial_runs_in_a_sandbox_and_leaves_the_live_workspace_unchanged(
    workspace, ticket, trial_inputs, tmp_path, django_capture_on_commit_callbacks
):
    from ai.trial.sandbox import trial_delete
    from helpdesk.helpcenter_import import import_helpcenter
    from helpdesk.models import Article, Customer
    from helpdesk.services import ticket_create

    enable_shop_tools(workspace)
    # The live workspace has an article with the same slug as an uploaded one, and a customer
    # and an order the trial's files name too.
    live_hc = tmp_path / "live"
    live_hc.mkdir()
    (live_hc / "returns.md").write_text("---\ntitle: Returns and refunds\n---\nOur own live returns text.\n")
    with django_capture_on_commit_callbacks(execute=True):
        import_helpcenter(workspace=workspace, path=live_hc, actor=Actor.system("test"))
    ticket_create(workspace=workspace, channel="email", customer_email="rita@customer.test", subject="s", body="b")
    orders_load(workspace=workspace, data={"orders": ORDERS["orders"][:1]}, actor=Actor.system("test"))

    def live_state():
        return (
            sorted(Article.objects.filter(workspace=workspace).values_list("slug", "title", "body", "status")),
            sorted(Customer.objects.filter(workspace=workspace).values_list("email", "name")),
            sorted(Ticket.objects.filter(workspace=workspace).values_list("pk", "status", "subject")),
            sorted(Order.objects.filter(workspace=workspace).values_list("number", "status", "total")),
        )

    before = live_state()
    first, _, _ = run_trial(workspace.slug, trial_inputs, tmp_path, name="one.json")
    second, _, _ = run_trial(workspace.slug, trial_inputs, tmp_path, name="two.json")
    assert live_state() == before
    assert [t["decision"] for t in second["tickets"]] == [t["decision"] for t in first["tickets"]]
    one, two = TrialRun.objects.filter(workspace=workspace).order_by("pk")
    assert one.sandbox != two.sandbox and first["summary"]["sandbox"] == one.sandbox.slug
    # Drafts quote the trial's own help center, never the live one.
    assert all("Our own live returns text" not in t["reply"] for t in first["tickets"] + second["tickets"])
    sandbox_id, one_id = one.sandbox.pk, one.pk
    trial_delete(trial=one, actor=Actor.system("test"))
    assert not Ticket.objects.filter(workspace_id=sandbox_id).exists()
    assert not AuditEvent.objects.filter(workspace_id=sandbox_id).exists()
    assert AuditEvent.objects.filter(workspace=workspace, kind="trial.deleted", data__trial=one_id).exists()
    assert live_state() == before and TrialRun.objects.filter(pk=two.pk).exists()


def test_it_judges_the_return_window_as_of_now(workspace, trial_inputs, tmp_path):
    enable_shop_tools(workspace)
    inside, _, _ = run_trial(workspace.slug, trial_inputs, tmp_path, now="2026-03-20T12:00:00Z", name="in.json")
    outside, _, _ = run_trial(workspace.slug, trial_inputs, tmp_path, now="2026-05-20T12:00:00Z", name="out.json")
    tools_in = [a["tool"] for a in by_id(inside)["T-6"]["actions"]]
    tools_out = [a["tool"] for a in by_id(outside)["T-6"]["actions"]]
    assert "issue_refund" in tools_in
    assert "issue_refund" not in tools_out  # delivered 2026-02-25: outside the 30 days by May
    assert outside["summary"]["now"] == "2026-05-20T12:00:00+00:00"


def test_it_reports_each_bad_line_clearly():
    text = "\n".join(
        [
            '{"external_id": "a", "body": "hi", "customer": {"email": "a@b.test"}}',
            "{not json",
            '{"external_id": "b", "channel": "fax", "body": "x", "customer": {"email": "nope"}}',
            '{"external_id": "a", "body": "again", "customer": {"email": "a@b.test"}}',
            '{"external_id": "c", "body": "x", "customer": {"email": "c@b.test"}, "created_at": "yesterday"}',
        ]
    )
    tickets, errors = parse_tickets(text, source="t.jsonl")
    assert [t.external_id for t in tickets] == ["a"]
    assert errors[0].startswith("t.jsonl line 2: not valid JSON")
    assert errors[1] == (
        "t.jsonl line 3: channel 'fax' is not one of email, chat, web, api; "
        "customer.email 'nope' is not an email address"
    )
    assert errors[2] == "t.jsonl line 4: duplicate external_id 'a'"
    assert errors[3] == "t.jsonl line 5: created_at 'yesterday' is not an ISO 8601 date-time"


def test_it_refuses_a_bad_clock_before_anything_runs(workspace, trial_inputs, tmp_path):
    with pytest.raises(CommandError, match="--now 'soon' is not an ISO 8601 date-time"):
        run_trial(workspace.slug, trial_inputs, tmp_path, now="soon")
    assert not TrialRun.objects.exists()


def test_it_creates_the_workspace_in_copilot_mode(db, trial_inputs, tmp_path):
    report, stdout, _ = run_trial("newshop", trial_inputs, tmp_path)
    assert "created workspace newshop" in stdout
    assert report["summary"]["workspace"] == "newshop"
    assert report["summary"]["by_decision"]["escalate"] >= 1


def test_it_counts_the_imported_tickets_as_verified_so_lookups_still_run(workspace, trial_inputs, tmp_path):
    """The shop's own helpdesk export is trusted (README "Customer identity"): a chat line whose
    visitor typed an address in the shop's helpdesk is still looked up in the trial."""
    enable_shop_tools(workspace)
    report, _, _ = run_trial(workspace.slug, trial_inputs, tmp_path)
    sandbox = TrialRun.objects.get(workspace=workspace).sandbox
    trial_tickets = Ticket.objects.filter(workspace=sandbox, external_id__startswith="trial:")
    proofs = CustomerVerification.objects.filter(ticket__in=trial_tickets)
    assert (
        sorted(proofs.values_list("method", flat=True))
        == ["trial_import"] * trial_tickets.count()
        == ["trial_import"] * 5
    )
    assert all(p.customer_id == p.ticket.customer_id for p in proofs)
    actions = by_id(report)["T-2"]["actions"]
    assert {"tool": "lookup_order", "args": {"order_number": "B2002"}, "status": "executed"} in actions
    assert not any("identity not verified" in t["reason"] for t in report["tickets"])


def test_it_runs_a_helpdesk_export_and_keeps_what_the_agent_answered(workspace, trial_inputs, tmp_path):
    from ai.models import TrialItem
    from helpdesk.tests.ticket_exports import ZENDESK, write

    enable_shop_tools(workspace)
    export = write(tmp_path, "zendesk.json", ZENDESK)
    report, _, stderr = run_trial(workspace.slug, {**trial_inputs, "tickets": export}, tmp_path)
    tickets = by_id(report)
    assert sorted(tickets) == ["zendesk:101", "zendesk:102"]
    assert tickets["zendesk:101"]["agent_reply"] == "It ships today with DHL."
    assert tickets["zendesk:102"]["agent_reply"] == ""
    assert "skipped zendesk.json ticket 103: missing requester email" in stderr
    # The draft answers what the customer wrote before anyone replied, not the later thanks.
    body = Message.objects.get(ticket__external_id="trial:zendesk:101", kind=MessageKind.CUSTOMER).body
    assert body == "Hi, my order B2002 has not arrived."
    assert set(TrialItem.objects.values_list("in_review", flat=True)) == {True}


def test_it_indexes_what_the_reviews_tickets_need_first_then_the_rest(workspace, trial_inputs, tmp_path, monkeypatch):
    from ai import index as ai_index
    from ai.models import Passage
    from ai.trial import runner
    from helpdesk.models import Article

    calls: list[list[int]] = []
    real = ai_index.index_articles

    def record(*, article_ids, progress=None):
        calls.append(sorted(article_ids))
        return real(article_ids=article_ids, progress=progress)

    (trial_inputs["helpcenter"] / "wrapping.md").write_text(
        "---\ntitle: Gift wrapping\n---\nWe wrap presents in recycled paper with a ribbon, free of charge.\n"
    )
    monkeypatch.setattr(runner, "INDEX_ALL_FIRST", 1)  # as if the help center were large
    monkeypatch.setattr(ai_index, "index_articles", record)
    enable_shop_tools(workspace)
    report, _, _ = run_trial(workspace.slug, trial_inputs, tmp_path)
    sandbox = Article.objects.filter(title="Signing in").exclude(workspace=workspace).get().workspace
    ids = {a.title: a.pk for a in Article.objects.filter(workspace=sandbox)}
    # First the articles the review's tickets match (the password question finds its own), then
    # the others (nobody asked about wrapping); in the end every article is indexed.
    assert len(calls) == 2 and ids["Signing in"] in calls[0] and calls[1] == [ids["Gift wrapping"]]
    assert sorted(calls[0] + calls[1]) == sorted(ids.values())
    assert set(Passage.objects.filter(workspace=sandbox).values_list("article_id", flat=True)) == set(ids.values())
    assert by_id(report)["T-5"]["citations"]

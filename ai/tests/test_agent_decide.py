from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from ai.admin_agent import preview_counts
from ai.agent.decide import decide, threshold_for
from ai.models import AgentRun, AISettings, CalibrationMap, ConfidenceRule
from audit.models import AuditEvent
from helpdesk.models import HUMAN_NEEDED_TYPES

RULE = {"source": "default", "threshold": 0.0}


@pytest.mark.parametrize("ticket_type", sorted(HUMAN_NEEDED_TYPES))
@pytest.mark.parametrize("confidence", [0.0, 0.5, 0.99, 1.0])
def test_human_needed_types_escalate_whatever_the_confidence(ticket_type, confidence):
    verdict = decide(
        mode="agent", ticket_type=ticket_type, confidence=confidence, threshold=0.0, rule=RULE, has_sources=True
    )
    assert (verdict.decision, verdict.reason) == ("escalate", f"human-needed type: {ticket_type}")


def test_the_decision_order():
    base: dict[str, Any] = {
        "mode": "agent",
        "ticket_type": "refund",
        "confidence": 0.9,
        "threshold": 0.85,
        "rule": RULE,
        "has_sources": True,
    }
    assert decide(**base).decision == "autosend"
    assert decide(**{**base, "confidence": 0.8}).reason == "confidence 80% is below the threshold of 85%"
    # Just under the threshold never reads as equal to it.
    assert decide(**{**base, "confidence": 0.8499}).reason == "confidence 84.9% is below the threshold of 85%"
    # An ask left open keeps even a sure reply a draft, saying what is open.
    opened = decide(**{**base, "confidence": 0.99, "open_asks": ["ask the customer for the order (track)"]})
    assert (opened.decision, opened.reason) == ("draft", "not resolved yet: ask the customer for the order (track)")
    assert decide(**{**base, "mode": "copilot"}).decision == "draft"
    assert decide(**{**base, "has_sources": False}).reason == "no matching article"
    assert decide(**{**base, "injection": True}).decision == "escalate"
    approval = {"label": "issue_refund over 100.00"}
    assert decide(**{**base, "approval": approval}).decision == "awaiting_approval"
    assert decide(**{**base, "approval": approval, "mode": "copilot"}).decision == "draft"


def test_the_most_specific_rule_wins(workspace):
    assert threshold_for(workspace=workspace, channel="chat", ticket_type="refund")[0] == 0.85
    AISettings.objects.create(workspace=workspace, default_threshold=0.8)
    assert threshold_for(workspace=workspace, channel="chat", ticket_type="refund")[1]["source"] == "workspace_default"
    ConfidenceRule.objects.create(workspace=workspace, channel="chat", autosend_threshold=0.7)
    assert threshold_for(workspace=workspace, channel="chat", ticket_type="refund")[0] == 0.7
    ConfidenceRule.objects.create(workspace=workspace, ticket_type="refund", autosend_threshold=0.6)
    assert threshold_for(workspace=workspace, channel="chat", ticket_type="refund")[0] == 0.6
    ConfidenceRule.objects.create(workspace=workspace, channel="chat", ticket_type="refund", autosend_threshold=0.95)
    assert threshold_for(workspace=workspace, channel="chat", ticket_type="refund")[0] == 0.95
    assert threshold_for(workspace=workspace, channel="email", ticket_type="refund")[0] == 0.6
    assert threshold_for(workspace=workspace, channel="chat", ticket_type="other")[0] == 0.7
    assert threshold_for(workspace=workspace, channel="email", ticket_type="other")[0] == 0.8


def test_the_rule_preview_counts_recent_tickets_it_would_have_autosent(workspace, ticket):
    for confidence, ticket_type in [(0.95, "refund"), (0.7, "refund"), (0.99, "legal"), (0.9, "order_status")]:
        AgentRun.objects.create(
            workspace=workspace, ticket=ticket, kind="agent", confidence=confidence, ticket_type=ticket_type
        )
    rule = ConfidenceRule.objects.create(workspace=workspace, ticket_type="refund", autosend_threshold=0.9)
    assert preview_counts(rule) == (1, 2)
    anything = ConfidenceRule.objects.create(workspace=workspace, channel="email", autosend_threshold=0.8)
    assert preview_counts(anything) == (2, 3)  # never the human-needed legal ticket


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root@x.test", email="root@x.test", password="pw")
    client.force_login(user)
    return client


def test_the_admin_edits_rules_and_settings_with_audit(admin_client, workspace, ticket):
    url = reverse("admin:ai_confidencerule_add")
    response = admin_client.post(
        url, {"workspace": workspace.pk, "channel": "chat", "ticket_type": "refund", "autosend_threshold": "90"}
    )
    assert response.status_code == 302, response.content
    rule = ConfidenceRule.objects.get(workspace=workspace)
    assert AuditEvent.objects.filter(
        kind="settings.changed", data__model="ai.confidencerule", data__object=rule.pk
    ).exists()
    page = admin_client.get(reverse("admin:ai_confidencerule_changelist")).content.decode()
    assert "would have autosent" in page.lower() and "0 of 0 tickets" in page
    response = admin_client.post(
        reverse("admin:ai_aisettings_add"),
        {
            "workspace": workspace.pk,
            "mode": "agent",
            "chat_provider": "local",
            "time_budget_seconds": "20",
            "default_threshold": "90",
        },
    )
    assert response.status_code == 302, response.content
    workspace.refresh_from_db()
    assert workspace.mode == "agent" and AISettings.objects.get(workspace=workspace).default_threshold == 0.9
    assert AuditEvent.objects.filter(kind="settings.changed", data__model="ai.aisettings").exists()


def test_the_calibration_view_shows_the_reliability_curve(admin_client, workspace):
    bins = [{"lo": 0.8, "hi": 0.9, "mean_confidence": 0.85, "accuracy": 0.8, "n": 30}]
    row = CalibrationMap.objects.create(
        workspace=workspace, points=[[0, 0], [1, 1]], reliability=bins, ece=0.05, samples=30
    )
    page = admin_client.get(reverse("admin:ai_calibrationmap_change", args=[row.pk])).content.decode()
    assert "<svg" in page and "0.050" in page
    run_page = admin_client.get(reverse("admin:ai_agentrun_changelist"))
    assert run_page.status_code == 200

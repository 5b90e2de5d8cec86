"""The AI pages of the back office are workspace-scoped like the rest: a manager edits their own
workspace's thresholds and approval rules, sees no other workspace's, and no internal table."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ai.models import AISettings, ApprovalRule, ConfidenceRule, KnowledgeSettings
from audit.models import AuditEvent
from conftest import PASSWORD


@pytest.fixture
def staff_manager(manager):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    return manager


def test_a_manager_edits_thresholds_of_their_workspace_only(client, workspace, other_workspace, staff_manager):
    theirs = ConfidenceRule.objects.create(workspace=other_workspace, channel="email", autosend_threshold=0.7)
    client.login(username=staff_manager.username, password=PASSWORD)
    add = reverse("admin:ai_confidencerule_add")
    ok = client.post(add, {"workspace": workspace.pk, "channel": "chat", "ticket_type": "", "autosend_threshold": "85"})
    assert ok.status_code == 302, ok.content
    assert ConfidenceRule.objects.get(workspace=workspace).autosend_threshold == 0.85
    refused = client.post(
        add, {"workspace": other_workspace.pk, "channel": "chat", "ticket_type": "", "autosend_threshold": "85"}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    listing = client.get(reverse("admin:ai_confidencerule_changelist")).content.decode()
    assert "85%" in listing and "70%" not in listing
    assert client.get(reverse("admin:ai_confidencerule_change", args=[theirs.pk])).status_code == 302
    out_of_range = client.post(
        add, {"workspace": workspace.pk, "channel": "email", "ticket_type": "", "autosend_threshold": "150"}
    )
    assert "Enter a percent from 0 to 100" in out_of_range.content.decode()
    assert "confidence_rule_range" not in out_of_range.content.decode()


def test_internal_tables_are_for_superusers_only(client, admin_client, workspace, staff_manager):
    client.login(username=staff_manager.username, password=PASSWORD)
    home = client.get(reverse("admin:index")).content.decode()
    assert "Autosend thresholds" in home and "Approval rules" in home
    assert "Embedding spaces" not in home and "Internal tables" not in home
    assert client.get(reverse("admin:ai_embeddingspace_changelist")).status_code == 403
    assert "Internal tables (superusers)" in admin_client.get(reverse("admin:index")).content.decode()


def test_the_mode_is_changed_in_one_place(client, workspace, staff_manager):
    client.login(username=staff_manager.username, password=PASSWORD)
    page = client.get(reverse("admin:helpdesk_workspace_change", args=[workspace.pk])).content.decode()
    assert "Change it in AI settings." in page and 'name="mode"' not in page
    form = client.get(reverse("admin:ai_aisettings_add")).content.decode()
    assert 'name="mode"' in form and "Default autosend threshold (%)" in form


def test_it_does_not_let_a_manager_delete_ai_settings(client, workspace, staff_manager):
    # Deleting a settings row has no audited service behind it, so the admin does not offer it.
    ai = AISettings.objects.create(workspace=workspace)
    knowledge = KnowledgeSettings.objects.create(workspace=workspace)
    client.login(username=staff_manager.username, password=PASSWORD)
    assert client.get(reverse("admin:ai_aisettings_delete", args=[ai.pk])).status_code == 403
    assert client.get(reverse("admin:ai_knowledgesettings_delete", args=[knowledge.pk])).status_code == 403
    page = client.get(reverse("admin:ai_aisettings_change", args=[ai.pk])).content.decode()
    assert reverse("admin:ai_aisettings_delete", args=[ai.pk]) not in page
    assert AISettings.objects.filter(pk=ai.pk).exists() and KnowledgeSettings.objects.filter(pk=knowledge.pk).exists()


def test_it_audits_deleting_approval_rules(client, workspace, staff_manager):
    one = ApprovalRule.objects.create(workspace=workspace, tool="issue_refund")
    two = ApprovalRule.objects.create(workspace=workspace, tool="cancel_order")
    client.login(username=staff_manager.username, password=PASSWORD)
    deleted = client.post(reverse("admin:ai_approvalrule_delete", args=[one.pk]), {"post": "yes"})
    assert deleted.status_code == 302
    selected = client.post(
        reverse("admin:ai_approvalrule_changelist"),
        {"action": "delete_selected", "_selected_action": [two.pk], "post": "yes"},
    )
    assert selected.status_code == 302
    assert not ApprovalRule.objects.filter(pk__in=[one.pk, two.pk]).exists()
    events = AuditEvent.objects.filter(workspace=workspace, kind="settings.changed", data__model="approvalrule")
    assert sorted(e.data["object"] for e in events) == [one.pk, two.pk]
    assert all(e.data["after"] is None and e.data["before"]["enabled"] is True for e in events)

"""The admin's "By workspace" filters name only the workspaces a staff user belongs to."""

from __future__ import annotations

import pytest
from django.utils import timezone

from ai.models import AgentPause, ApprovalRule, HttpAction, ToolPermission
from conftest import PASSWORD, make_user

PAGES = [
    "/admin/ai/toolpermission/",
    "/admin/ai/httpaction/",
    "/admin/ai/agentpause/",
    "/admin/ai/approvalrule/",
]


@pytest.fixture
def settings_in_both(workspace, other_workspace):
    # A new workspace starts with its allow-list and a refund approval rule; pauses and HTTP
    # actions are added here.
    for ws in (workspace, other_workspace):
        assert ToolPermission.objects.filter(workspace=ws).exists()
        assert ApprovalRule.objects.filter(workspace=ws).exists()
        HttpAction.objects.create(
            workspace=ws, name=f"notify_{ws.slug}", description="Notify", url_template="https://shop.test/hook"
        )
        AgentPause.objects.create(workspace=ws, reason="maintenance", paused_by="test", paused_at=timezone.now())


@pytest.mark.parametrize("url", PAGES)
def test_it_keeps_other_workspace_names_out_of_the_filter(client, outsider, settings_in_both, url):
    outsider.is_staff = True
    outsider.save()
    assert client.login(username=outsider.email, password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    assert b"Globex" in response.content  # the outsider's own workspace is offered
    assert b"Acme Outfitters" not in response.content


@pytest.mark.parametrize("url", PAGES)
def test_it_still_lists_every_workspace_for_a_superuser(client, settings_in_both, url):
    root = make_user("root@oasis.test")
    root.is_staff = root.is_superuser = True
    root.save()
    assert client.login(username=root.email, password=PASSWORD)
    content = client.get(url).content
    assert b"Acme Outfitters" in content and b"Globex" in content

"""What a new workspace gets: the default allow-list and the default approval rule."""

from __future__ import annotations

from decimal import Decimal

from ai.models import ApprovalRule, ToolPermission
from ai.tools.registry import BUILTIN_TOOLS, DEFAULT_ENABLED
from helpdesk.models import Workspace

DEFAULT_REFUND_APPROVAL_OVER = Decimal("100.00")


def tool_defaults_create(workspace: Workspace) -> None:
    """Run inside the workspace's creating transaction (hooks.workspace_created)."""
    ToolPermission.objects.bulk_create(
        [ToolPermission(workspace=workspace, tool=name, enabled=name in DEFAULT_ENABLED) for name in BUILTIN_TOOLS],
        ignore_conflicts=True,
    )
    if not ApprovalRule.objects.filter(workspace=workspace).exists():
        ApprovalRule.objects.create(workspace=workspace, tool="issue_refund", amount_over=DEFAULT_REFUND_APPROVAL_OVER)

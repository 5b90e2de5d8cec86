"""Bounded tools and approval gates: the AI may only do what is enumerated here.

The interface the Agent pipeline uses.
"""

from __future__ import annotations

from ai.tools.approvals import (
    AlreadyDecided,
    action_approve,
    action_reject,
    action_request_create,
    approval_required_for_reply,
    reply_rules,
)
from ai.tools.base import REPLY_TOOL, ToolCall, ToolCheck, ToolResult
from ai.tools.planner import Plan, Step, plan_asks, plan_tool_calls
from ai.tools.registry import tool_catalog, tool_schemas
from ai.tools.runner import tool_check, tool_execute
from ai.tools.session import ToolSession, http_actions, tool_permissions

__all__ = [
    "REPLY_TOOL",
    "AlreadyDecided",
    "Plan",
    "Step",
    "ToolCall",
    "ToolCheck",
    "ToolResult",
    "ToolSession",
    "action_approve",
    "action_reject",
    "action_request_create",
    "approval_required_for_reply",
    "http_actions",
    "plan_asks",
    "plan_tool_calls",
    "reply_rules",
    "tool_catalog",
    "tool_check",
    "tool_execute",
    "tool_permissions",
    "tool_schemas",
]

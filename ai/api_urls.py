"""The AI's part of the REST API, mounted at /api/v1/ by oasis/urls.py before the helpdesk's
(whose last pattern answers every other /api/v1/ address with a JSON 404)."""

from __future__ import annotations

from django.urls import path

from ai import api_copilot, api_tools

urlpatterns = [
    # Bounded tools and approvals.
    path("tools/", api_tools.ToolListApi.as_view(), name="api-tools"),
    path("actions/", api_tools.ActionListApi.as_view(), name="api-actions"),
    path("actions/<int:action_id>/approve/", api_tools.ActionApproveApi.as_view(), name="api-action-approve"),
    path("actions/<int:action_id>/reject/", api_tools.ActionRejectApi.as_view(), name="api-action-reject"),
    # The Copilot.
    path("tickets/<int:ticket_id>/copilot/", api_copilot.CopilotApi.as_view(), name="api-ticket-copilot"),
    path(
        "tickets/<int:ticket_id>/copilot/feedback/",
        api_copilot.CopilotFeedbackApi.as_view(),
        name="api-ticket-copilot-feedback",
    ),
]

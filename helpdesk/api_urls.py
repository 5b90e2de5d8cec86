from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from helpdesk import api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("tickets/", api.TicketCollectionApi.as_view(), name="api-tickets"),
    path("tickets/<int:ticket_id>/", api.TicketDetailApi.as_view(), name="api-ticket-detail"),
    path("tickets/<int:ticket_id>/messages/", api.MessageCollectionApi.as_view(), name="api-ticket-messages"),
]

# Bounded tools and approvals (issue 5).
from ai import api_tools  # noqa: E402

urlpatterns += [
    path("tools/", api_tools.ToolListApi.as_view(), name="api-tools"),
    path("actions/", api_tools.ActionListApi.as_view(), name="api-actions"),
    path("actions/<int:action_id>/approve/", api_tools.ActionApproveApi.as_view(), name="api-action-approve"),
    path("actions/<int:action_id>/reject/", api_tools.ActionRejectApi.as_view(), name="api-action-reject"),
]

# The Copilot (issue 4).
from ai import api_copilot  # noqa: E402

urlpatterns += [
    path("tickets/<int:ticket_id>/copilot/", api_copilot.CopilotApi.as_view(), name="api-ticket-copilot"),
    path(
        "tickets/<int:ticket_id>/copilot/feedback/",
        api_copilot.CopilotFeedbackApi.as_view(),
        name="api-ticket-copilot-feedback",
    ),
]

# Last: any other address under /api/v1/ answers like the API does, in JSON (not the site's
# HTML 404 page), e.g. /api/v1/tickets/abc/ or a negative id.
urlpatterns += [re_path(r"^.*/$", api.not_found, name="api-not-found")]

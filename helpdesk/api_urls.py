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

# Last: any other address under /api/v1/ answers like the API does, in JSON (not the site's
# HTML 404 page), e.g. /api/v1/tickets/abc/ or a negative id. oasis/urls.py mounts the AI's
# endpoints (ai/api_urls.py) before this file, so this never shadows them.
urlpatterns += [re_path(r"^.*/$", api.not_found, name="api-not-found")]

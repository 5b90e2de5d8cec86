from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from helpdesk import api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("tickets/", api.TicketCollectionApi.as_view(), name="api-tickets"),
    path("tickets/<int:ticket_id>/", api.TicketDetailApi.as_view(), name="api-ticket-detail"),
    path("tickets/<int:ticket_id>/messages/", api.MessageCollectionApi.as_view(), name="api-ticket-messages"),
]

from __future__ import annotations

from django.urls import path

from audit import hooks, views

app_name = "audit"

urlpatterns = [
    path("tickets/<int:ticket_id>/", views.ticket_timeline, name="ticket_timeline"),
    path("tickets/<int:ticket_id>/export.json", views.ticket_export_json, name="ticket_export"),
    path("export.jsonl", views.workspace_export_jsonl, name="workspace_export"),
    # Pages of the apps above audit (the AI's trust page): audit.hooks.register_urls.
    *hooks.registered_urls(),
]

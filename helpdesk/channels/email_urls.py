from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from helpdesk.channels import email_views

app_name = "inbound"

urlpatterns: list[URLPattern | URLResolver] = [
    path("email/<slug:workspace_slug>/", email_views.inbound_email, name="email"),
]

"""The customer portal, mounted at /portal/ by oasis/urls.py."""

from __future__ import annotations

from django.urls import path

from helpdesk.channels import portal

app_name = "portal"

urlpatterns = [
    path("verify/<str:token>/", portal.verify, name="verify"),
    path("<str:token>/", portal.thread, name="thread"),
    path("<str:token>/solved/<str:answer>/", portal.solved, name="solved"),
]

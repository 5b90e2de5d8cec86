"""The chat widget (mounted at /chat/ by oasis/urls.py): its JSON API and the demo merchant page."""

from __future__ import annotations

from django.urls import path

from helpdesk.channels import demo, widget

app_name = "chat"

urlpatterns = [
    path("api/<slug:workspace_slug>/sessions/", widget.sessions, name="sessions"),
    path("api/<slug:workspace_slug>/messages/", widget.messages, name="messages"),
    path("api/<slug:workspace_slug>/feedback/", widget.feedback, name="feedback"),
    path("demo/<slug:workspace_slug>/", demo.demo_merchant, name="demo"),
]

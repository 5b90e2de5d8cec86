"""The contact form under /help/<slug>/contact/ (one include in helpdesk/helpcenter_urls.py)."""

from __future__ import annotations

from django.urls import path

from helpdesk.channels import contact

urlpatterns = [
    path("", contact.contact, name="contact"),
    path("suggest/", contact.suggest, name="contact_suggest"),
    path("deflect/<slug:article_slug>/", contact.deflect, name="contact_deflect"),
]

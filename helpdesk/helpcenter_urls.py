"""The public help center, mounted at /help/ by oasis/urls.py."""

from __future__ import annotations

from django.urls import include, path

from helpdesk import helpcenter_views

app_name = "helpcenter"

urlpatterns = [
    path("<slug:workspace_slug>/", helpcenter_views.home, name="home"),
    # Before the article route, which would otherwise take "contact" for an article slug.
    path("<slug:workspace_slug>/contact/", include("helpdesk.channels.contact_urls")),
    path("<slug:workspace_slug>/<slug:article_slug>/", helpcenter_views.article, name="article"),
]

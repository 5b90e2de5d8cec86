from __future__ import annotations

from django.urls import path

from helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
]

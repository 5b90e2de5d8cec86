from __future__ import annotations

from django.urls import path

from ai import views_approvals

app_name = "ai_approvals"

urlpatterns = [
    path("", views_approvals.approvals, name="list"),
    path("<int:action_id>/decide/", views_approvals.decide, name="decide"),
]

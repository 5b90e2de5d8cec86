from __future__ import annotations

from django.urls import path

from ai import views_reports

app_name = "ai_reports"

urlpatterns = [
    path("", views_reports.reports, name="page"),
    path("csv/", views_reports.reports_csv, name="csv_all"),
    path("csv/<slug:figure>/", views_reports.reports_csv, name="csv"),
    path("api/", views_reports.reports_api, name="api"),
    path("kill-switch/", views_reports.kill_switch, name="kill_switch"),
]

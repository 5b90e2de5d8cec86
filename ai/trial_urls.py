from __future__ import annotations

from django.urls import path

from ai import views_trial

app_name = "trial"

urlpatterns = [
    path("", views_trial.trial_home, name="home"),
    path("<int:trial_id>/", views_trial.trial_report, name="report"),
    path("<int:trial_id>/progress/", views_trial.trial_progress, name="progress"),
    path("<int:trial_id>/mark/", views_trial.trial_mark, name="mark"),
    path("<int:trial_id>/report.json", views_trial.trial_download, name="download"),
    path("<int:trial_id>/delete/", views_trial.trial_remove, name="delete"),
]

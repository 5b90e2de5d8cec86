from __future__ import annotations

from django.urls import path

from ai import views_trial, views_trial_setup

app_name = "trial"

urlpatterns = [
    path("", views_trial.trial_home, name="home"),
    path("<int:trial_id>/", views_trial.trial_report, name="report"),
    path("<int:trial_id>/progress/", views_trial.trial_progress, name="progress"),
    path("<int:trial_id>/mark/", views_trial.trial_mark, name="mark"),
    path("<int:trial_id>/report.json", views_trial.trial_download, name="download"),
    path("<int:trial_id>/delete/", views_trial.trial_remove, name="delete"),
    # The guided trial's steps (a trial in status "setup").
    path("<int:trial_id>/tickets/", views_trial_setup.trial_setup_tickets, name="setup_tickets"),
    path("<int:trial_id>/columns/", views_trial_setup.trial_setup_columns, name="setup_columns"),
    path("<int:trial_id>/orders/", views_trial_setup.trial_setup_orders, name="setup_orders"),
    path("<int:trial_id>/statuses/", views_trial_setup.trial_setup_statuses, name="setup_statuses"),
    path("<int:trial_id>/start/", views_trial_setup.trial_setup_start, name="setup_start"),
]

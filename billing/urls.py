from __future__ import annotations

from django.urls import path

from billing import api, views

app_name = "billing"

urlpatterns = [
    path("calculator/", views.cost_calculator, name="calculator"),
    path("api/calculator/", api.calculator_api, name="calculator_api"),
]

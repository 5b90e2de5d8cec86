from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from ai import views_trust
from helpdesk.views_auth import LoginView

urlpatterns = [
    path("", RedirectView.as_view(url="/inbox/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("helpdesk.urls")),
    # The AI's endpoints first: the helpdesk's API ends with a catch-all JSON 404.
    path("api/v1/", include("ai.api_urls")),
    path("api/v1/", include("helpdesk.api_urls")),
    path("inbound/", include("helpdesk.channels.email_urls")),
    path("help/", include("helpdesk.helpcenter_urls")),
    path("billing/", include("billing.urls")),
    path("signup/", include("billing.signup_urls")),
    path("audit/", include("audit.urls")),
    path("trust/", views_trust.trust, name="trust"),
    path("approvals/", include("ai.approvals_urls")),
    path("chat/", include("helpdesk.channels_urls")),
    path("portal/", include("helpdesk.channels.portal_urls")),
    path("reports/", include("ai.reports_urls")),
    path("trial/", include("ai.trial_urls")),
]

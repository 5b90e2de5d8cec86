"""Sign-in (/accounts/login/ and the back office's /admin/login/): throttled per IP and per account."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from helpdesk.throttle import account_workspaces, throttle


class LoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = str(request.POST.get("username", ""))[:254]
        limited = throttle(request, scope="login", account=username, workspaces=account_workspaces(username))
        if limited is None:
            return super().post(request, *args, **kwargs)
        # The password is not even checked (binding the form would): an empty form and the reason.
        form = self.get_form_class()(request, initial={"username": username})
        context = self.get_context_data(form=form, throttled=limited.content.decode())
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = limited["Retry-After"]
        return response


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's own sign-in page under the same limits: staff passwords are worth the most."""
    if request.method == "POST":
        username = str(request.POST.get("username", ""))[:254]
        limited = throttle(request, scope="login", account=username, workspaces=account_workspaces(username))
        if limited is not None:
            return limited
    return admin.site.login(request)

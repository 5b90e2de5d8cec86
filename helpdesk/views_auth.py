"""Sign-in (/accounts/login/, and /admin/login/ through oasis.admin_site): throttled per IP and per account."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

from helpdesk.throttle import account_workspaces, throttle


def login_throttled(request: HttpRequest) -> HttpResponse | None:
    """The refusal of a sign-in attempt over its limits (per IP, per account), else None."""
    username = str(request.POST.get("username", ""))[:254]
    return throttle(request, scope="login", account=username, workspaces=account_workspaces(username))


class LoginView(auth_views.LoginView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        limited = login_throttled(request)
        if limited is None:
            return super().post(request, *args, **kwargs)
        # The password is not even checked (binding the form would): an empty form and the reason.
        username = str(request.POST.get("username", ""))[:254]
        form = self.get_form_class()(request, initial={"username": username})
        context = self.get_context_data(form=form, throttled=limited.content.decode())
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = limited["Retry-After"]
        return response

"""A pretend merchant page with the widget pasted in: DEBUG and tests only, demo workspace only.

It plays the merchant's server, signing an identity for any e-mail it is given: anywhere but
the demo workspace that would let anyone chat as any customer.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from helpdesk.channels.identity import identity_token_sign, widget_secret
from helpdesk.demo import DEMO_SLUG
from helpdesk.models import Workspace


@require_GET
def demo_merchant(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    if not (settings.DEBUG or getattr(settings, "TESTING", False)) or workspace_slug != DEMO_SLUG:
        raise Http404
    workspace = get_object_or_404(Workspace, slug=workspace_slug)
    # ?customer=<email> plays the merchant's server: it signs who is logged in on the shop.
    email = request.GET.get("customer", "").strip()
    token = ""
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise Http404 from None
        token = identity_token_sign(secret=widget_secret(workspace), email=email, name=request.GET.get("name", ""))
    return render(request, "channels/demo_merchant.html", {"workspace": workspace, "identity_token": token})

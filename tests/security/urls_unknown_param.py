"""The site's URLs plus one whose parameter the tenancy sweep cannot fill (for its own test)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from oasis.urls import urlpatterns as site_urlpatterns


def gadget(request: HttpRequest, gadget_id: int) -> HttpResponse:
    return HttpResponse(str(gadget_id))


urlpatterns = [*site_urlpatterns, path("gadgets/<int:gadget_id>/", gadget)]

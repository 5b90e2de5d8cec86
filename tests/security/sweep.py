"""The tenancy sweep: every swept URL, filled with workspace A's objects, requested as one of
workspace B's people; what A would see must never reach them, and nothing of A may change.

What counts as refused:
- a page or endpoint of the app, for a member of B: 404 (an object of another workspace is
  indistinguishable from a missing one), or 405 where the view takes no such method;
- the same for nobody logged in: also the redirect to the login page, or DRF's 401/403;
- the back office (Django admin): 403 or 404, or where the admin itself answers a missing
  object, the redirect to the admin index (or to its login page for non-staff); a forward to
  the object's change page (/admin/<app>/<model>/<id>/, a GET of .../decide/) is fine, as that
  page is swept on its own.
Every answer, refused or not, must be free of A's text and below 500, and after each URL the
rows of A (and its members' user rows) must be exactly as before.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.contrib import admin
from django.db.models import Model
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from ai.models import AgentRun
from billing.models import Invoice
from tests.security.routes import Route
from tests.security.world import Tenant, changed_models, snapshot

CANARY = "CANARYA"
LEAK = re.compile(rb"CANARYA-[\w-]+|[\w.+-]+@alpha\.test")
LOGIN_URL = "/accounts/login/"
ADMIN_LANDINGS = ("/admin/", "/admin/login/")


def canary(label: str) -> str:
    return f"{CANARY}-{label}"


def body_of(response: HttpResponse | StreamingHttpResponse) -> bytes:
    if isinstance(response, StreamingHttpResponse):
        return b"".join(response.streaming_content)  # type: ignore[arg-type]
    return response.content


def form_for(world: Tenant) -> dict[str, Any]:
    """One POST body for every form of the site: each view reads the fields it knows, all
    pointing at the world (its workspace, run, invoice month), so a view that skipped its
    access check, or a POST that skipped its CSRF check, would really write."""
    invoice = world.obj(Invoice)
    return {
        "workspace": world.workspace.pk,
        "run": world.obj(AgentRun).pk,
        "call": 0,
        "decision": "approve",
        "note": "sweep",
        "reason": "sweep",
        "action": "pause",
        "channel": "",
        "body": "sweep",
        "reply-body": "sweep",
        "note-body": "sweep",
        "assignee": "me",
        "ticket_type": "legal",
        "kind": "note",
        "verdict": "discarded",
        "external_id": "T-1",
        "mark": "wrong",
        "customer_email": "sweeper@bravo.test",
        "subject": "sweep",
        "message": "sweep",
        "email": "sweeper@bravo.test",
        "period": f"{invoice.period:%Y-%m}",
        "post": "yes",
        "next": "/inbox/",
    }


def query_for(world: Tenant) -> dict[str, Any]:
    invoice = world.obj(Invoice)
    return {"workspace": world.workspace.pk, "period": f"{invoice.period:%Y-%m}", "status": "pending"}


class Sweeper:
    """One of B's people (or nobody) against every swept URL of A."""

    def __init__(self, *, a: Tenant, b: Tenant, role: str) -> None:
        self.a, self.role = a, role
        self.client = Client()
        user = b.users.get(role)
        if user is not None:
            self.client.force_login(user)
        # API endpoints are swept a second time with the role's own workspace key.
        key = b.api_keys.get(role)
        self.key_client = Client(HTTP_AUTHORIZATION=f"Bearer {key}") if key else None
        self.requests = 0
        self.problems: list[str] = []

    # ------------------------------------------------------------------ what is sent

    def _send(self, client: Client, route: Route, method: str, url: str, **extra: Any) -> Any:
        self.requests += 1
        try:
            if method == "GET":
                return client.get(url, extra.get("data"))
            if route.is_api:
                payload = json.dumps(extra.get("data", {}))
                return client.post(url, payload, content_type="application/json")
            return client.post(url, extra.get("data", {}))
        except Exception as exc:
            raise AssertionError(f"{self.role}: {method} {url} raised {exc!r}") from exc

    # --------------------------------------------------------------------- the sweep

    def run(self, routes: list[Route]) -> list[str]:
        before = snapshot(self.a.workspace)
        for route in routes:
            for label, client in self._clients(route):
                self._sweep(route, label, client)
            after = snapshot(self.a.workspace)
            changed = changed_models(before, after)
            if changed:
                self.problems.append(f"{self.role}: {route.template} changed workspace A's {', '.join(changed)}")
                before = after
        return self.problems

    def _clients(self, route: Route) -> Iterator[tuple[str, Client]]:
        yield "session", self.client
        if route.is_api and self.key_client is not None:
            yield "api key", self.key_client

    def _sweep(self, route: Route, label: str, client: Client) -> None:
        url = route.url(self.a)
        self._check(route, f"{label} GET {url}", self._send(client, route, "GET", url))
        if not route.takes_object:
            self._check(route, f"{label} GET {url}?…", self._send(client, route, "GET", url, data=query_for(self.a)))
        self._check(route, f"{label} POST {url}", self._send(client, route, "POST", url, data=form_for(self.a)))
        if route.is_changelist and route.model_admin is not None:
            for action in admin_actions(route.model_admin):
                data = {
                    **form_for(self.a),
                    "action": action,
                    "_selected_action": [str(self.a.obj(route.admin_model).pk)],  # type: ignore[arg-type]
                    "index": "0",
                    "apply": "1",
                }
                self._check(
                    route, f"{label} POST {url} action {action}", self._send(client, route, "POST", url, data=data)
                )

    def _check(self, route: Route, what: str, response: HttpResponse) -> None:
        where = f"{self.role}: {what}"
        if response.status_code >= 500:
            self.problems.append(f"{where} answered {response.status_code}")
        found = sorted({m.decode(errors="replace") for m in LEAK.findall(body_of(response))})
        if found:
            self.problems.append(f"{where} showed workspace A's {', '.join(found[:5])}")
        if route.takes_object and not self._refused(route, response):
            self.problems.append(f"{where} was not refused: {response.status_code} {response.get('Location', '')}")

    def _refused(self, route: Route, response: HttpResponse) -> bool:
        status = response.status_code
        location = urlsplit(response.get("Location", "")).path
        if route.is_admin:
            if status == 302 and route.admin_model is not None and location == self._change_url(route.admin_model):
                return True  # a forward to the object's change page, which is swept on its own
            return status in (403, 404, 405) or (status == 302 and location in ADMIN_LANDINGS)
        if status in (404, 405):
            return True
        if self.role != "anonymous":
            return False
        if status in (401, 403):
            return route.is_api
        return status == 302 and location == LOGIN_URL

    def _change_url(self, model: type[Model]) -> str:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[self.a.obj(model).pk])


def admin_actions(model_admin: admin.ModelAdmin[Any]) -> list[str]:
    """The names of the actions a changelist offers (its own and the site's)."""
    names = [name for name, _func in model_admin.admin_site.actions]
    for action in model_admin.actions or ():
        names.append(action if isinstance(action, str) else action.__name__)
    return names

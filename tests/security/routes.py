"""Every URL pattern of the site, read from the resolver, and how the sweeps fill its parameters.

The tables here are the contract of the tenancy sweep: a new URL whose parameter is not in
`FILLERS` (and that is not in `PUBLIC`) makes `plan_problems()` fail, so no URL joins the site
without being swept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from rest_framework.views import APIView

from ai.models import ActionRequest, TrialRun
from billing.models import Invoice
from helpdesk.models import Article, Ticket
from tests.security.world import Tenant

# Routes nobody needs an account for, and the routes that end the sweeper's own session. Each
# names why it is public; capability URLs (a secret, a signed token or a session header is the
# credential) are attacked with workspace B's credentials in test_capability_urls.py instead.
PUBLIC: dict[str, str] = {
    "accounts/logout/": "ends the sweeping user's own session; reads no object",
    "admin/logout/": "ends the sweeping user's own session; reads no object",
    "admin/login/": "the back office's sign-in page (throttled like /accounts/login/); reads no object",
    "help/<slug:workspace_slug>/": "the public help center of a workspace",
    "help/<slug:workspace_slug>/<slug:article_slug>/": "a published help-center article (drafts: capability test)",
    "help/<slug:workspace_slug>/contact/": "the public contact form",
    "help/<slug:workspace_slug>/contact/suggest/": "the contact form's public article suggestions",
    "help/<slug:workspace_slug>/contact/deflect/<slug:article_slug>/": "a suggested published article",
    "inbound/email/<slug:workspace_slug>/": "capability: the workspace's inbound secret",
    "chat/api/<slug:workspace_slug>/sessions/": "the public chat widget starts a visitor session",
    "chat/api/<slug:workspace_slug>/messages/": "capability: the visitor's chat session header",
    "chat/api/<slug:workspace_slug>/feedback/": "capability: the visitor's chat session header",
    "chat/demo/<slug:workspace_slug>/": "the widget demo page (debug and tests only)",
    "portal/verify/<str:token>/": "capability: a signed magic-link token naming a single-use, expiring link",
    "portal/<str:token>/": "capability: a signed, expiring portal token",
    "portal/<str:token>/solved/<str:answer>/": "capability: a signed, expiring portal token",
}


def _admin_object(world: Tenant, route: Route) -> str:
    if route.admin_model is None:  # the admin's view-on-site shortcut: /admin/r/<type>/<id>/
        return str(world.obj(Ticket).pk)
    if route.admin_model not in world.objects:
        raise LookupError(f"workspace A has no {route.admin_model._meta.label} for {route.template}")
    return str(world.obj(route.admin_model).pk)


# How to fill each URL parameter with workspace A's object (or, for the last three, a value
# that names no object).
FILLERS: dict[str, Callable[[Tenant, Route], str]] = {
    "ticket_id": lambda world, route: str(world.obj(Ticket).pk),
    "action_id": lambda world, route: str(world.obj(ActionRequest).pk),
    "trial_id": lambda world, route: str(world.obj(TrialRun).pk),
    "invoice_id": lambda world, route: str(world.obj(Invoice).pk),
    "object_id": _admin_object,
    "id": lambda world, route: str(world.users["admin"].pk),  # /admin/auth/user/<id>/password/
    "content_type_id": lambda world, route: str(ContentType.objects.get_for_model(Ticket).pk),
    "app_label": lambda world, route: "helpdesk",
    "url": lambda world, route: "no-such-page/",
    "figure": lambda world, route: "volume",
}


def _public_token(world: Tenant, route: Route) -> str:
    return world.magic_link_token if route.template.startswith("portal/verify/") else world.portal_token


# The public routes' parameters, for sweeps that request them too (CSRF): A's own slug, its
# published article, a valid portal link or magic link.
PUBLIC_FILLERS: dict[str, Callable[[Tenant, Route], str]] = {
    "workspace_slug": lambda world, route: world.workspace.slug,
    "article_slug": lambda world, route: world.obj(Article).slug,
    "token": _public_token,
    "answer": lambda world, route: "no",
}
OBJECT_PARAMS = frozenset({"ticket_id", "action_id", "trial_id", "invoice_id", "object_id", "id", "content_type_id"})


@dataclass(frozen=True)
class Route:
    template: str
    params: tuple[str, ...]
    callback: Callable[..., Any]
    admin_model: type[models.Model] | None
    model_admin: admin.ModelAdmin[Any] | None

    @property
    def is_admin(self) -> bool:
        return self.template.startswith("admin/")

    @property
    def is_api(self) -> bool:
        view_class = getattr(self.callback, "cls", None)
        return isinstance(view_class, type) and issubclass(view_class, APIView)

    @property
    def takes_object(self) -> bool:
        return bool(OBJECT_PARAMS.intersection(self.params))

    @property
    def is_changelist(self) -> bool:
        model = self.admin_model
        return model is not None and self.template == f"admin/{model._meta.app_label}/{model._meta.model_name}/"

    def url(self, world: Tenant, fillers: dict[str, Callable[[Tenant, Route], str]] = FILLERS) -> str:
        values = {name: fillers[name](world, self) for name in self.params}
        text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m[1]], self.template)
        text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m[1]], text)
        return "/" + text.replace("^", "").replace("$", "")


def all_routes() -> list[Route]:
    """Every URL pattern, admin and API included, in resolver order."""
    admin_prefixes = {
        f"admin/{model._meta.app_label}/{model._meta.model_name}/": (model, model_admin)
        for model, model_admin in admin.site._registry.items()
    }
    routes: list[Route] = []

    def walk(resolver: URLResolver, prefix: str, outer: tuple[str, ...]) -> None:
        for entry in resolver.url_patterns:
            text = prefix + str(entry.pattern)
            params = (*outer, *entry.pattern.regex.groupindex)
            if isinstance(entry, URLResolver):
                walk(entry, text, params)
            elif isinstance(entry, URLPattern):
                model, model_admin = admin_prefixes.get(prefix, (None, None))
                routes.append(Route(text, params, entry.callback, model, model_admin))

    walk(get_resolver(), "", ())
    return routes


def swept_routes() -> list[Route]:
    return [route for route in all_routes() if route.template not in PUBLIC]


def plan_problems(world: Tenant | None = None) -> list[str]:
    """What stops the sweep from covering every URL: unknown parameters, stale allow-list
    entries, and (given a world) URLs that do not resolve back to their own view."""
    routes = all_routes()
    templates = {route.template for route in routes}
    problems = [
        f"{entry!r} is allow-listed as public but no URL has that route" for entry in PUBLIC if entry not in templates
    ]
    for route in routes:
        if route.template in PUBLIC:
            continue
        unknown = [name for name in route.params if name not in FILLERS]
        if unknown:
            problems.append(
                f"{route.template}: no filler for {', '.join(unknown)}; add it to FILLERS in tests/security/routes.py "
                "(or, for a public page, to PUBLIC with the reason)"
            )
            continue
        if world is None:
            continue
        try:
            url = route.url(world)
            match = resolve(url)
        except (LookupError, Resolver404) as exc:
            problems.append(f"{route.template}: cannot build a URL to sweep ({exc})")
            continue
        if match.func is not route.callback:
            problems.append(f"{route.template}: {url} resolves to another view ({match.route})")
    return problems

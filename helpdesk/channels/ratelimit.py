"""Fixed-window rate limits on every public endpoint, counted in Postgres (no Redis).

One row per (key, window) in an UNLOGGED table, bumped with INSERT ... ON CONFLICT DO UPDATE
so concurrent requests never lose a hit. Each scope is limited per client IP and per
workspace; a refused request gets 429 with Retry-After. Override the defaults with
`settings.OASIS_RATE_LIMITS = {"chat_message": {"ip": (30, 60), "workspace": (600, 60)}}`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

# scope -> {"ip"|"workspace": (max hits, window seconds)}
DEFAULT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "chat_start": {"ip": (20, 60), "workspace": (600, 60)},
    "chat_message": {"ip": (30, 60), "workspace": (1200, 60)},
    "chat_poll": {"ip": (240, 60), "workspace": (20000, 60)},
    "chat_feedback": {"ip": (20, 60), "workspace": (600, 60)},
    "contact": {"ip": (5, 600), "workspace": (200, 600)},
    "suggest": {"ip": (120, 60), "workspace": (3000, 60)},
    "deflect": {"ip": (30, 60), "workspace": (1200, 60)},
    "portal": {"ip": (60, 60), "workspace": (3000, 60)},
    "portal_post": {"ip": (10, 60), "workspace": (600, 60)},
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    which: str = ""


def limits_for(scope: str) -> dict[str, tuple[int, int]]:
    overrides: dict[str, dict[str, tuple[int, int]]] = getattr(settings, "OASIS_RATE_LIMITS", {})
    return {**DEFAULT_LIMITS.get(scope, {}), **overrides.get(scope, {})}


def hit(key: str, *, limit: int, window: int, now: float | None = None) -> Verdict:
    """Count one hit on `key` in the current window; refuse beyond `limit`."""
    now = time.time() if now is None else now
    start = int(now // window) * window
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO helpdesk_ratecounter (key, window_start, hits) VALUES (%s, %s, 1) "
            "ON CONFLICT (key, window_start) DO UPDATE SET hits = helpdesk_ratecounter.hits + 1 "
            "RETURNING hits",
            [key[:200], start],
        )
        row = cursor.fetchone()
        # Old windows are garbage: sweep now and then, cheaply, from a random request.
        if random.random() < 0.01:
            cursor.execute("DELETE FROM helpdesk_ratecounter WHERE window_start < %s", [int(now) - 86400])
    hits = int(row[0]) if row else 1
    if hits > limit:
        return Verdict(False, max(1, int(start + window - now + 0.999)))
    return Verdict(True)


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy, the deployment sets REMOTE_ADDR right (e.g. gunicorn --forwarded-allow-ips);
    # trusting X-Forwarded-For here would let anyone pick their own bucket.
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def check(request: HttpRequest, *, scope: str, workspace_key: str) -> Verdict:
    limits = limits_for(scope)
    for which, ident in (("ip", client_ip(request)), ("workspace", workspace_key)):
        if which not in limits:
            continue
        limit, window = limits[which]
        verdict = hit(f"{scope}:{which}:{ident}", limit=limit, window=window)
        if not verdict.allowed:
            return Verdict(False, verdict.retry_after, which)
    return Verdict(True)


def too_many(verdict: Verdict, *, json: bool) -> HttpResponse:
    text = f"Too many requests; try again in {verdict.retry_after} s."
    response: HttpResponse
    if json:
        response = JsonResponse({"error": "rate_limited", "detail": text}, status=429)
    else:
        response = HttpResponse(text, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(verdict.retry_after)
    return response


View = Callable[..., HttpResponse]


def rate_limited(scope: str, *, json: bool = False) -> Callable[[View], View]:
    """Limit a view taking `workspace_slug` (per IP and per workspace)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "OPTIONS":
                return view(request, *args, **kwargs)
            workspace_key = str(kwargs.get("workspace_slug") or "portal")
            verdict = check(request, scope=scope, workspace_key=workspace_key)
            if not verdict.allowed:
                return too_many(verdict, json=json)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator

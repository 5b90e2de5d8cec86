"""Fixed-window rate limits on every public endpoint, counted in Postgres (no Redis).

One row per (key, window) in an UNLOGGED table, bumped with INSERT ... ON CONFLICT DO UPDATE
so concurrent requests never lose a hit. Each scope is limited per client IP and per
workspace, and (where a scope sets an "account" limit) per account named in the request; a
refused request gets 429 with Retry-After. Override the defaults with
`settings.OASIS_RATE_LIMITS = {"chat_message": {"ip": (30, 60), "workspace": (600, 60)}}`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

# scope -> {"ip"|"workspace"|"account": (max hits, window seconds)}
DEFAULT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "chat_start": {"ip": (20, 60), "workspace": (600, 60), "account": (10, 600)},
    "chat_message": {"ip": (30, 60), "workspace": (1200, 60)},
    "chat_poll": {"ip": (240, 60), "workspace": (20000, 60)},
    "chat_feedback": {"ip": (20, 60), "workspace": (600, 60)},
    "contact": {"ip": (5, 600), "workspace": (200, 600), "account": (5, 600)},
    "suggest": {"ip": (120, 60), "workspace": (3000, 60)},
    "deflect": {"ip": (30, 60), "workspace": (1200, 60)},
    "portal": {"ip": (60, 60), "workspace": (3000, 60)},
    "portal_post": {"ip": (10, 60), "workspace": (600, 60)},
    # Sign-in attempts (successful ones too) per IP and per username; sign-ups per IP and email.
    "login": {"ip": (20, 300), "account": (10, 300)},
    "signup": {"ip": (5, 3600), "account": (3, 3600)},
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    which: str = ""
    # The window's first refusal: what is worth recording once, not on every refused request.
    first: bool = False


def limits_for(scope: str) -> dict[str, tuple[int, int]]:
    overrides: dict[str, dict[str, tuple[int, int]]] = getattr(settings, "OASIS_RATE_LIMITS", {})
    return {**DEFAULT_LIMITS.get(scope, {}), **overrides.get(scope, {})}


def hit(key: str, *, limit: int, window: int, now: float | None = None) -> Verdict:
    """Count one hit on `key` in the current window; refuse beyond `limit`."""
    return hit_many([(key, limit, window)], now=now)[0]


def hit_many(keys: list[tuple[str, int, int]], *, now: float | None = None) -> list[Verdict]:
    """Count hits on each (key, limit, window) in order, in one statement (one round trip).

    Like checking them one by one: a key is only counted while every key before it is within
    its limit, so a client refused per IP does not use up its workspace's budget.
    """
    now = time.time() if now is None else now
    starts = [int(now // window) * window for _, _, window in keys]
    ctes: list[str] = []
    params: list[str | int] = []
    for i, ((key, _, _), start) in enumerate(zip(keys, starts, strict=True)):
        guard = " AND ".join(f"(SELECT hits FROM c{j}) <= %s" for j in range(i)) or "TRUE"  # noqa: S608
        ctes.append(
            f"c{i} AS (INSERT INTO helpdesk_ratecounter (key, window_start, hits) SELECT %s, %s, 1 WHERE {guard} "
            "ON CONFLICT (key, window_start) DO UPDATE SET hits = helpdesk_ratecounter.hits + 1 RETURNING hits)"
        )
        params += [key[:200], start, *(limit for _, limit, _ in keys[:i])]
    # Only numbered CTE names and placeholders are formatted in; every value is a parameter.
    selects = ", ".join(f"(SELECT hits FROM c{i})" for i in range(len(keys)))  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT {selects}", params)
        row = cursor.fetchone()
    verdicts = []
    for i, ((_, limit, window), start) in enumerate(zip(keys, starts, strict=True)):
        hits = row[i] if row is not None else None
        if hits is None:  # not counted: an earlier key already refused the request
            verdicts.append(Verdict(True))
            continue
        allowed = int(hits) <= limit
        retry_after = 0 if allowed else max(1, int(start + window - now + 0.999))
        verdicts.append(Verdict(allowed, retry_after, first=int(hits) == limit + 1))
    return verdicts


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy, the deployment sets REMOTE_ADDR right (e.g. gunicorn --forwarded-allow-ips);
    # trusting X-Forwarded-For here would let anyone pick their own bucket.
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def check(request: HttpRequest, *, scope: str, workspace_key: str, account: str = "") -> Verdict:
    limits = limits_for(scope)
    idents = (("ip", client_ip(request)), ("workspace", workspace_key), ("account", account.strip().lower()))
    wanted = [
        (which, f"{scope}:{which}:{ident}", *limits[which]) for which, ident in idents if which in limits and ident
    ]
    if not wanted:
        return Verdict(True)
    verdicts = hit_many([(key, limit, window) for _, key, limit, window in wanted])
    for (which, *_), verdict in zip(wanted, verdicts, strict=True):
        if not verdict.allowed:
            return Verdict(False, verdict.retry_after, which, verdict.first)
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


# Counters of windows older than this are garbage: no limit here looks back further than a day.
SWEEP_AFTER_SECONDS = 86400


def sweep(*, now: float | None = None) -> int:
    """Delete counters of windows long past (a django-q2 schedule, helpdesk.schedules), so the
    request path does one statement, always; returns how many went."""
    now = time.time() if now is None else now
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM helpdesk_ratecounter WHERE window_start < %s", [int(now) - SWEEP_AFTER_SECONDS])
        return int(cursor.rowcount)

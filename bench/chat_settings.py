"""Settings for `make bench-chat`: the project's settings with rate limits lifted.

Every bench client comes from 127.0.0.1, which the per-IP limits would (rightly) refuse.
Database connections persist across requests, as they do in production (`DATABASE_URL`
defaults to DB_CONN_MAX_AGE=60; the embedded default opens one per request), or come from a
pool when DB_POOL_MAX_SIZE is set (the bench's gunicorn does).
"""

from __future__ import annotations

from oasis.settings import *  # noqa: F403
from oasis.settings import DATABASES

OASIS_RATE_LIMITS = {
    scope: {"ip": (10**9, 60), "workspace": (10**9, 60)}
    for scope in ("chat_start", "chat_message", "chat_poll", "chat_feedback")
}
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if "pool" not in DATABASES["default"]["OPTIONS"]:  # type: ignore[operator]
    DATABASES["default"]["CONN_MAX_AGE"] = 60

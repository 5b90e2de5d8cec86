"""Settings for `make bench-chat`: the project's settings with rate limits lifted.

Every bench client comes from 127.0.0.1, which the per-IP limits would (rightly) refuse.
"""

from __future__ import annotations

from oasis.settings import *  # noqa: F403

OASIS_RATE_LIMITS = {
    scope: {"ip": (10**9, 60), "workspace": (10**9, 60)}
    for scope in ("chat_start", "chat_message", "chat_poll", "chat_feedback")
}

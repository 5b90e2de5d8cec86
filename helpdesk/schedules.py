"""The django-q2 schedules of the helpdesk (migrations 0008_importers, 0009_ratecounter_sweep): help centers by
URL re-sync, and the sweep of old rate-limit counters."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from oasis.schedules import schedule_upsert

SCHEDULES: list[dict[str, Any]] = [
    # Every 15 minutes: each source is re-synced when its own interval (resync_hours) has passed.
    {
        "name": "helpdesk.helpcenter_resync",
        "func": "helpdesk.helpcenter_crawl.sync.resync_due",
        "schedule_type": "I",
        "minutes": 15,
    },
    # Hourly: rate-limit counters of windows past (the request path never deletes).
    {
        "name": "helpdesk.ratecounter_sweep",
        "func": "helpdesk.channels.ratelimit.sweep",
        "schedule_type": "I",
        "minutes": 60,
    },
]


def setup_schedules(schedule_model: Any = None) -> int:
    """Create or update the schedules (idempotent); returns how many exist."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    now = timezone.now()
    for spec in SCHEDULES:
        schedule_upsert(schedule_model, **spec, first_run=now)
    return len(SCHEDULES)

"""The django-q2 schedules of the helpdesk (migration 0008_importers): help centers by URL re-sync."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from oasis.schedules import schedule_upsert

SCHEDULES: list[dict[str, Any]] = [
    # Every 15 minutes: each source is re-synced when its own interval (resync_hours) has passed.
    {"name": "helpdesk.helpcenter_resync", "func": "helpdesk.helpcenter_crawl.sync.resync_due", "minutes": 15},
]


def setup_schedules(schedule_model: Any = None) -> int:
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    for spec in SCHEDULES:
        schedule_upsert(
            schedule_model,
            name=spec["name"],
            func=spec["func"],
            schedule_type="I",
            minutes=spec["minutes"],
            first_run=timezone.now(),
        )
    return len(SCHEDULES)

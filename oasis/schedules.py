"""Creating django-q2 schedules idempotently, for the apps' data migrations and commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def schedule_upsert(
    schedule_model: Any,
    *,
    name: str,
    func: str,
    schedule_type: str,
    first_run: datetime,
    minutes: int | None = None,
    kwargs: str | None = None,
) -> None:
    """Create the schedule, or update its task and type; a re-run keeps the next run already planned."""
    fields = {"func": func, "schedule_type": schedule_type, "repeats": -1, "minutes": minutes, "kwargs": kwargs}
    schedule_model.objects.update_or_create(
        name=name, defaults=fields, create_defaults={**fields, "next_run": first_run}
    )

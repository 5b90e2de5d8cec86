"""The django-q2 schedules of the Agent; created by migration 0004_agent_schedules and by `setup_schedules`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from oasis.schedules import schedule_upsert

SCHEDULES: list[dict[str, Any]] = [
    # Nightly: feedback accumulates slowly, and a map that moves every hour would make
    # yesterday's thresholds mean something else today.
    {"name": "ai.calibration_refit", "func": "ai.tasks_agent.calibration_refit_task", "schedule_type": "D"},
]


def setup_schedules(schedule_model: Any = None) -> int:
    """Create or update the schedules (idempotent); returns how many exist."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    now = datetime.now(UTC)
    first = (now + timedelta(days=1)).replace(hour=2, minute=15, second=0, microsecond=0)
    for spec in SCHEDULES:
        schedule_upsert(schedule_model, **spec, first_run=first)
    return len(SCHEDULES)

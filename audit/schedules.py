"""The django-q2 schedules of the audit log; created by migration 0004_anchor and `setup_schedules`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from oasis.schedules import schedule_upsert

SCHEDULES: list[dict[str, Any]] = [
    # Events newer than the last anchor can be dropped unseen: the interval bounds that window.
    {"name": "audit.anchor_heads", "func": "audit.tasks.anchor_heads_task", "schedule_type": "I", "minutes": 5},
]


def setup_schedules(schedule_model: Any = None) -> int:
    """Create or update the schedules (idempotent); returns how many exist."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    now = datetime.now(UTC)
    for spec in SCHEDULES:
        schedule_upsert(schedule_model, **spec, first_run=now)
    return len(SCHEDULES)

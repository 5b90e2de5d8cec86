"""The django-q2 schedules of billing; created by migration 0002 and by `setup_schedules`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from oasis.schedules import schedule_upsert

SCHEDULES: list[dict[str, Any]] = [
    {"name": "billing.finalize_outcomes", "func": "billing.tasks.finalize_outcomes", "schedule_type": "H"},
    {"name": "billing.monthly_invoices", "func": "billing.tasks.generate_monthly_invoices", "schedule_type": "M"},
]


def _first_run(schedule_type: str, now: datetime) -> datetime:
    if schedule_type == "M":
        # 00:30 UTC on the 1st of next month, after the month's last hourly finalisation.
        year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
        return datetime(year, month, 1, 0, 30, tzinfo=UTC)
    return now.replace(minute=5, second=0, microsecond=0) + timedelta(hours=1)


def setup_schedules(schedule_model: Any = None) -> int:
    """Create or update the schedules (idempotent); returns how many exist."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    now = datetime.now(UTC)
    for spec in SCHEDULES:
        schedule_upsert(schedule_model, **spec, first_run=_first_run(spec["schedule_type"], now))
    return len(SCHEDULES)

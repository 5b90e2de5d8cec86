"""The django-q2 schedules of the Agent (migration 0004_agent_schedules, `setup_schedules`) and of
the reports rollup (migration 0011_report_rollup, `setup_rollup_schedules`)."""

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


ROLLUP_SCHEDULES: list[dict[str, Any]] = [
    # Rolls up the days that have closed and recomputes the days marked dirty since: the report
    # reads both live until then, so this only keeps the live share small (exactness does not
    # depend on it).
    {"name": "ai.reports_rollup", "func": "ai.tasks_reports.reports_rollup_task", "schedule_type": "I", "minutes": 10},
    # Nightly: also recompute the last 8 closed days whatever the marks say, a safety net for
    # changes made with the triggers off (a restore, a manual fix-up with session_replication_role).
    {
        "name": "ai.reports_rollup_recheck",
        "func": "ai.tasks_reports.reports_rollup_task",
        "kwargs": "{'recheck_days': 8}",
        "schedule_type": "D",
        "minutes": None,
    },
]


def setup_rollup_schedules(schedule_model: Any = None) -> int:
    """Create or update the rollup schedules (idempotent); a re-run keeps the next runs planned."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    now = datetime.now(UTC)
    nightly = (now + timedelta(days=1)).replace(hour=1, minute=20, second=0, microsecond=0)
    for spec in ROLLUP_SCHEDULES:
        schedule_upsert(schedule_model, **spec, first_run=nightly if spec["schedule_type"] == "D" else now)
    return len(ROLLUP_SCHEDULES)

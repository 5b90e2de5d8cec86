"""The django-q2 schedules of the Agent (migration 0004_agent_schedules, `setup_schedules`), of
the reports rollup (migration 0011_report_rollup, `setup_rollup_schedules`) and of the stale-run
sweeper (migration 0013_run_sweeper, `setup_sweep_schedules`)."""

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
    return _setup(SCHEDULES, schedule_model, nightly_at=(2, 15))


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
    return _setup(ROLLUP_SCHEDULES, schedule_model, nightly_at=(1, 20))


SWEEP_SCHEDULES: list[dict[str, Any]] = [
    # Every minute (django-q2's scheduler looks every 30 s): a run whose worker stopped, or that
    # outlived its time budget, is failed and its ticket handed to a human (ai/agent/sweep.py).
    # Each worker also sweeps when it starts (ai/apps.py), which covers a restarted cluster.
    {"name": "ai.runs_sweep", "func": "ai.tasks_agent.runs_sweep_task", "schedule_type": "I", "minutes": 1},
]


def setup_sweep_schedules(schedule_model: Any = None) -> int:
    """Create or update the sweeper's schedule (idempotent); it starts at once."""
    return _setup(SWEEP_SCHEDULES, schedule_model, nightly_at=(0, 0))


def _setup(specs: list[dict[str, Any]], schedule_model: Any, *, nightly_at: tuple[int, int]) -> int:
    """Upsert `specs`: a daily one first runs tomorrow at `nightly_at` (UTC), the others now."""
    if schedule_model is None:
        from django_q.models import Schedule

        schedule_model = Schedule
    now = datetime.now(UTC)
    hour, minute = nightly_at
    nightly = (now + timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    for spec in specs:
        schedule_upsert(schedule_model, **spec, first_run=nightly if spec["schedule_type"] == "D" else now)
    return len(specs)

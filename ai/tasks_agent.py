"""Background work of the Agent (django-q2): tasks take ids and call ai.agent / ai.calibration."""

from __future__ import annotations

from ai.agent.pipeline import agent_run_for_message
from ai.calibration import calibration_refit_all


def agent_run_task(message_id: int) -> str:
    run = agent_run_for_message(message_id=message_id)
    return "skipped" if run is None else f"{run.status}:{run.decision}"


def calibration_refit_task() -> int:
    return calibration_refit_all()

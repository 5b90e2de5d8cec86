"""Background work of the Agent (django-q2): tasks take ids and call ai.agent / ai.calibration."""

from __future__ import annotations

import logging

from ai.agent.pipeline import agent_run_abandon, agent_run_for_message
from ai.agent.slots import run_lock, runs_enqueue, slot_hand_on, slot_take_or_wait
from ai.agent.sweep import WORKER_STOPPED, SweepResult, runs_sweep, sweeper_actor
from ai.calibration import calibration_refit_all
from ai.models import RunStatus
from helpdesk.models import Message

logger = logging.getLogger(__name__)


def agent_run_task(message_id: int, workspace_id: int | None = None) -> str:
    """Run the Agent for one inbound message: under the run's lock, in one of its workspace's run
    slots; with every slot taken the run waits, queued, and this worker is free for other work."""
    if workspace_id is None:  # a task enqueued before the workspace was passed along
        workspace_id = Message.objects.filter(pk=message_id).values_list("ticket__workspace_id", flat=True).first()
        if workspace_id is None:
            return "skipped"
    run = None
    with run_lock(message_id) as held:
        if not held:
            return "running elsewhere"  # a duplicate delivery while its worker is still at it
        slot = slot_take_or_wait(workspace_id=workspace_id, message_id=message_id)
        if slot is None:
            return "waiting for a run slot"
        try:
            run = agent_run_for_message(message_id=message_id)
            if run is not None and run.status == RunStatus.RUNNING:
                # Still running while this task holds its lock: the worker that claimed it stopped.
                agent_run_abandon(run=run, reason=WORKER_STOPPED, actor=sweeper_actor())
                run.refresh_from_db(fields=["status", "decision"])
        finally:
            hand_on = slot_hand_on(workspace_id=workspace_id, slot=slot)
    runs_enqueue(hand_on, workspace_id=workspace_id)
    return "skipped" if run is None else f"{run.status}:{run.decision}"


def runs_sweep_task() -> str:
    result: SweepResult = runs_sweep()
    if result.acted:
        logger.warning("run sweep: %s", result)
    return str(result)


def calibration_refit_task() -> int:
    return calibration_refit_all()

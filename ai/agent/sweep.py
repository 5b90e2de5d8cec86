"""The stale-run sweeper: no Agent run stays unfinished without a worker at it.

It runs every minute (the `ai.runs_sweep` schedule) and when a worker process starts (ai/apps.py:
after a crash the cluster comes back and sweeps before it takes work), and looks at the Agent
runs not finished:

- running, and nobody holds its run lock (ai/agent/slots.py): its worker stopped mid-run
  (killed, out of memory, machine lost). Failed "worker stopped mid-run".
- running, its worker alive, past its time budget plus OASIS_RUN_SWEEP_MARGIN: stuck somewhere
  the budget checks do not reach. Failed "run timed out".
- queued, not waiting for a slot, past its budget plus the margin, with no task for it in the
  broker and its lock free: its task was lost (an enqueue that failed after the commit, a Redis
  restart). Failed "run never started".
- queued and waiting for a slot while its workspace has a free one (the slot's holder died
  before handing it on): enqueued again.

A failed run's ticket goes to a human with the reason, through the pipeline's own failure path
(`agent_run_abandon`): conditional on the run still running, under the ticket's and the run's row
locks. A worker still busy with a run the sweeper failed finds it failed at its send step (which
locks the same row and wants "running") and neither sends nor escalates again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ai.agent.pipeline import DEFAULT_BUDGET, agent_run_abandon
from ai.agent.slots import (
    AGENT_TASK,
    RUN_LOCKS,
    SWEEPER,
    lock_key,
    run_lock,
    runs_enqueue,
    session_lock,
    slots_hand_on_free,
)
from ai.models import AgentRun, AISettings, RunStatus
from audit.services import Actor

logger = logging.getLogger(__name__)

WORKER_STOPPED = "worker stopped mid-run"
TIMED_OUT = "run timed out"
NEVER_STARTED = "run never started: its task was lost"


@dataclass
class SweepResult:
    stopped: int = 0
    timed_out: int = 0
    never_started: int = 0
    handed_on: int = 0
    skipped: bool = False  # another sweeper was at work

    @property
    def acted(self) -> bool:
        return bool(self.stopped or self.timed_out or self.never_started or self.handed_on)


def sweeper_actor() -> Actor:
    return Actor.system("run-sweeper")


def runs_sweep(*, now: datetime | None = None) -> SweepResult:
    """One pass over the unfinished Agent runs (see the module docstring); one sweeper at a time."""
    result = SweepResult()
    with session_lock(lock_key(SWEEPER)) as mine:
        if not mine:
            result.skipped = True
            return result
        pending: set[int] | None = None
        for run_id, message_id, status, overdue, alive in _unfinished(now or timezone.now()):
            if status == RunStatus.RUNNING and not alive:
                result.stopped += _abandon_unattended(run_id, message_id, WORKER_STOPPED)
            elif status == RunStatus.RUNNING and overdue:
                run = AgentRun.objects.get(pk=run_id)
                result.timed_out += agent_run_abandon(run=run, reason=TIMED_OUT, actor=sweeper_actor())
            elif status == RunStatus.QUEUED:
                if pending is None:
                    pending = broker_pending_messages()
                if pending is not None and message_id not in pending:
                    result.never_started += _abandon_unattended(run_id, message_id, NEVER_STARTED)
        waiting = AgentRun.objects.filter(status=RunStatus.QUEUED, deferred_at__isnull=False)
        # order_by(): the model's default ordering would make DISTINCT run over (workspace, created_at).
        for workspace_id in waiting.order_by().values_list("workspace_id", flat=True).distinct():
            messages = slots_hand_on_free(workspace_id=workspace_id)
            runs_enqueue(messages, workspace_id=workspace_id)
            result.handed_on += len(messages)
    return result


def _unfinished(now: datetime) -> list[tuple[int, int, str, bool, bool]]:
    """(run, trigger message, status, past its budget + margin, its lock held) of each running Agent
    run whose lock is free or that is past its budget + margin, and of each queued one, not
    waiting for a slot, past its budget + margin with its lock free. The advisory locks are read
    once, for this database only."""
    runs = connection.ops.quote_name(AgentRun._meta.db_table)
    ai_settings = connection.ops.quote_name(AISettings._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH held AS MATERIALIZED (
                SELECT (l.classid::bigint << 32) | l.objid::bigint AS key FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            )
            SELECT * FROM (
                SELECT r.id, r.trigger_message_id, r.status,
                    COALESCE(r.started_at, r.created_at)
                        + make_interval(secs => COALESCE(s.time_budget_seconds, %s) + %s) < %s AS overdue,
                    EXISTS (SELECT 1 FROM held h WHERE h.key = %s::bigint | r.trigger_message_id) AS alive
                FROM {runs} r LEFT JOIN {ai_settings} s ON s.workspace_id = r.workspace_id
                WHERE r.kind = 'agent' AND r.trigger_message_id IS NOT NULL
                  AND (r.status = %s OR (r.status = %s AND r.deferred_at IS NULL))
            ) x
            WHERE (x.status = %s AND (x.overdue OR NOT x.alive)) OR (x.overdue AND NOT x.alive)
            ORDER BY x.id
            """,  # noqa: S608 (table names from the models; values are parameters)
            [
                DEFAULT_BUDGET,
                float(settings.OASIS_RUN_SWEEP_MARGIN),
                now,
                lock_key(RUN_LOCKS),
                RunStatus.RUNNING,
                RunStatus.QUEUED,
                RunStatus.RUNNING,
            ],
        )
        return [(int(a), int(b), str(c), bool(d), bool(e)) for a, b, c, d, e in cursor.fetchall()]


def _abandon_unattended(run_id: int, message_id: int, reason: str) -> bool:
    """Fail a run no worker is at, holding its lock meanwhile so that no task starts it (a task
    arriving waits for the lock, then finds the run failed). A queued run is claimed first, so it
    fails the way a running one does."""
    with run_lock(message_id, wait=0) as held:
        if not held:
            return False  # a worker took it since the read
        if reason == NEVER_STARTED:
            claimed = AgentRun.objects.filter(
                pk=run_id, status=RunStatus.QUEUED, deferred_at__isnull=True, started_at__isnull=True
            ).update(status=RunStatus.RUNNING, started_at=timezone.now())
            if not claimed:
                return False
        run = AgentRun.objects.get(pk=run_id)
        return agent_run_abandon(run=run, reason=reason, actor=sweeper_actor())


def broker_pending_messages() -> set[int] | None:
    """Trigger messages of the Agent-run tasks in the broker (waiting, or taken by a worker and not
    yet acknowledged); None when the broker cannot be listed (then no queued run is failed)."""
    from django_q.brokers import get_broker
    from django_q.brokers.orm import ORM
    from django_q.models import OrmQ
    from django_q.signing import BadSignature, SignedPackage

    broker = get_broker()
    payloads: list[Any]
    if isinstance(broker, ORM):
        # Not through the broker's own connection helper: it may close this connection, and with
        # it the sweeper's lock.
        payloads = list(OrmQ.objects.filter(key=broker.list_key).values_list("payload", flat=True))
    elif type(broker).__module__.endswith("redis_broker"):
        # A task a cluster has taken from the list but not started yet is in neither place: the
        # margin covers that wait (the cluster takes at most about workers² tasks ahead).
        payloads = broker.connection.lrange(broker.list_key, 0, -1)
    else:
        return None
    pending: set[int] = set()
    for payload in payloads:
        try:
            task = SignedPackage.loads(payload.decode() if isinstance(payload, bytes) else payload)
        except (BadSignature, ValueError, TypeError):
            continue
        if task.get("func") == AGENT_TASK and task.get("args"):
            pending.add(int(task["args"][0]))
    return pending


def runs_sweep_at_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """django-q2's post_spawn: a worker process sweeps before it takes its first task, so runs a
    crashed cluster left behind are handed to a human as soon as it is back."""
    from django_q.conf import Conf

    if Conf.SYNC:
        return  # tasks run inline (tests, benches): every task "spawns" a worker in the caller
    try:
        result = runs_sweep()
    except Exception:  # a failed sweep must not keep the worker from working; the schedule retries
        logger.exception("run sweep at worker start failed")
        return
    if result.acted:
        logger.warning("run sweep at worker start: %s", result)

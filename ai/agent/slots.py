"""Who is running what: a lock per Agent run and a few run slots per workspace.

Both are Postgres session advisory locks, so every worker sharing the database sees them, and
they go away with the worker's connection: a worker killed mid-run (SIGKILL, a lost machine)
frees its run's lock and its slot at once, with no counter left to repair.

- The run lock (keyed by the run's trigger message) is held by the task from before it claims
  the run until the run's last transaction committed. A "running" run whose lock nobody holds
  has lost its worker; the sweeper (ai/agent/sweep.py) fails it and hands the ticket to a human.
- A workspace has `settings.OASIS_WORKSPACE_RUNS` slots. A task that finds them all taken marks
  its run waiting (`deferred_at`) and returns, giving its worker back; the next run of that
  workspace to finish hands its slot on to the oldest waiting run. Taking a slot (or marking a
  run waiting) and handing one on both happen under the workspace's gate, a transaction-level
  lock, so a run never waits while a slot is free.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ai.models import AgentRun, RunStatus

# Namespaces in the high bits of the 64-bit advisory lock keys (below them: an id, and for a
# slot its number); other modules lock with the two-int form or hashes of their own names.
RUN_LOCKS = 0xA6E1
SLOTS = 0xA6E2
GATES = 0xA6E3
SWEEPER = 0xA6E4
_ID_BITS = 40
# A task finding its run's lock held waits this long before leaving the run to its holder: the
# sweeper holds a lock for a moment, a worker for a whole run.
LOCK_WAIT_S = 3.0


def lock_key(namespace: int, value: int = 0) -> int:
    return (namespace << _ID_BITS) | value


def slot_key(workspace_id: int, slot: int) -> int:
    return lock_key(SLOTS, (slot << 32) | workspace_id)


def _try_lock(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _unlock(key: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


@contextmanager
def session_lock(key: int, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the advisory lock `key` for the block if it can be had within `wait` seconds;
    yields whether it is held."""
    deadline = time.monotonic() + wait
    held = _try_lock(key)
    while not held and time.monotonic() < deadline:
        time.sleep(0.05)
        held = _try_lock(key)
    try:
        yield held
    finally:
        if held:
            _unlock(key)


def run_lock(message_id: int, *, wait: float | None = None) -> AbstractContextManager[bool]:
    """The lock of the Agent run of `message_id` (see the module docstring)."""
    return session_lock(lock_key(RUN_LOCKS, message_id), wait=LOCK_WAIT_S if wait is None else wait)


def workspace_cap() -> int:
    return int(settings.OASIS_WORKSPACE_RUNS)


def _gate(workspace_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(GATES, workspace_id)])


def slot_take_or_wait(*, workspace_id: int, message_id: int) -> int | None:
    """A free run slot of the workspace, now held by this connection; or None, and then the run
    of `message_id`, if queued, is marked waiting for the next slot to be handed on. -1 when the
    workspace has no limit, or when the run is not queued (nothing of it will run: no slot)."""
    cap = workspace_cap()
    if cap <= 0:
        return -1
    with transaction.atomic():
        _gate(workspace_id)
        for slot in range(cap):
            if _try_lock(slot_key(workspace_id, slot)):
                return slot
        waiting = AgentRun.objects.filter(trigger_message_id=message_id, kind="agent", status=RunStatus.QUEUED).update(
            deferred_at=timezone.now()
        )
    return None if waiting else -1


def slot_hand_on(*, workspace_id: int, slot: int) -> list[int]:
    """Give the slot back; the trigger message of the oldest run waiting in the workspace, now no
    longer marked waiting, for the caller to enqueue (none when none waits)."""
    if slot < 0:
        return []
    with transaction.atomic():
        _gate(workspace_id)
        _unlock(slot_key(workspace_id, slot))
        return _unmark_waiting(workspace_id, 1)


def slots_hand_on_free(*, workspace_id: int) -> list[int]:
    """For the sweeper: as many waiting runs of the workspace as it has free slots, unmarked, their
    trigger messages for the caller to enqueue. A slot is left free without a hand-on when its
    holder died before giving it back."""
    cap = workspace_cap()
    if cap <= 0:
        return _unmark_waiting(workspace_id, None)
    with transaction.atomic():
        _gate(workspace_id)
        free = 0
        for slot in range(cap):
            if _try_lock(slot_key(workspace_id, slot)):
                _unlock(slot_key(workspace_id, slot))
                free += 1
        return _unmark_waiting(workspace_id, free) if free else []


def _unmark_waiting(workspace_id: int, count: int | None) -> list[int]:
    """Unmark the `count` (None: all) oldest waiting runs of the workspace; their trigger messages."""
    table = connection.ops.quote_name(AgentRun._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {table} r SET deferred_at = NULL
            WHERE r.id IN (
                SELECT w.id FROM {table} w
                WHERE w.workspace_id = %s AND w.status = %s AND w.deferred_at IS NOT NULL
                ORDER BY w.created_at, w.id LIMIT %s FOR UPDATE SKIP LOCKED
            )
            RETURNING r.trigger_message_id
            """,  # noqa: S608 (the table name from the model; values are parameters)
            [workspace_id, RunStatus.QUEUED, count],
        )
        return sorted(row[0] for row in cursor.fetchall())  # message ids grow with time: oldest first


AGENT_TASK = "ai.tasks_agent.agent_run_task"


def runs_enqueue(message_ids: list[int], *, workspace_id: int) -> None:
    """One Agent-run task per message (ai/tasks_agent.py)."""
    from django_q.tasks import async_task

    for message_id in message_ids:
        async_task(AGENT_TASK, message_id, workspace_id, task_name=f"agent-run-{message_id}")

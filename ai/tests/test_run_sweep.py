"""The stale-run sweeper and the per-workspace run slots (ai/agent/sweep.py, ai/agent/slots.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from ai.agent import pipeline
from ai.agent.slots import RUN_LOCKS, lock_key, slot_key
from ai.agent.sweep import NEVER_STARTED, TIMED_OUT, WORKER_STOPPED, runs_sweep
from ai.models import AgentRun, ConfidenceRule, RunStatus
from ai.tasks_agent import agent_run_task
from ai.tests.agent_support import ai_replies, first_message, new_ticket
from ai.tests.chat_server import FakeChatServer
from audit.models import AuditEvent
from helpdesk.models import Ticket, TicketStatus

pytest_plugins = ["ai.tests.agent_support"]

PASSWORD_Q = "I forgot my password and can't log in"


@contextmanager
def other_worker(*keys: int) -> Iterator[None]:
    """Another worker's database session, holding the advisory locks `keys` (a run's lock, a slot)."""
    session = connections.create_connection("default")
    try:
        with session.cursor() as cursor:
            for key in keys:
                cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        yield
    finally:
        session.close()


def queued_run(workspace, body: str = PASSWORD_Q, **fields) -> AgentRun:
    """A ticket and its Agent run, as its enqueue left it (its task not run yet) plus `fields`.
    (The test's transaction never commits, so the after-commit enqueue does not happen.)"""
    ticket = new_ticket(workspace, body)
    run = AgentRun.objects.create(
        workspace=workspace, ticket=ticket, trigger_message=first_message(ticket), kind="agent"
    )
    AgentRun.objects.filter(pk=run.pk).update(**fields)
    return AgentRun.objects.get(pk=run.pk)


def message_of(run: AgentRun) -> int:
    assert run.trigger_message_id is not None
    return run.trigger_message_id


def escalations(ticket: Ticket) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(ticket=ticket, kind="ticket.ai_decision", data__decision="escalate"))


def assert_escalated_once(run: AgentRun, reason: str) -> None:
    run.refresh_from_db()
    assert (run.status, run.decision, run.reason) == (RunStatus.FAILED, "escalate", reason)
    ticket = Ticket.objects.get(pk=run.ticket_id)
    assert (ticket.status, ticket.ai_decision, ticket.ai_reason) == (TicketStatus.OPEN, "escalate", reason)
    [event] = escalations(ticket)
    assert event.data["run"] == run.pk and event.actor == "run-sweeper"
    assert AuditEvent.objects.filter(ticket=ticket, kind="ai.failed", data__reason=reason).count() == 1
    assert ai_replies(ticket) == []


def test_it_escalates_a_running_run_whose_worker_stopped_once(workspace, helpcenter, agent_mode):
    run = queued_run(workspace, status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=5))
    result = runs_sweep()
    assert (result.stopped, result.timed_out, result.never_started) == (1, 0, 0)
    assert_escalated_once(run, WORKER_STOPPED)
    # Swept again, and its task delivered again (the broker's retry): nothing more happens.
    assert not runs_sweep().acted
    assert agent_run_task(message_of(run), workspace.pk) == "failed:escalate"
    assert_escalated_once(run, WORKER_STOPPED)


def test_it_leaves_a_live_worker_its_budget_then_times_the_run_out(workspace, helpcenter, agent_mode):
    run = queued_run(workspace, status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=50))
    with other_worker(lock_key(RUN_LOCKS, message_of(run))):
        # 50 s: within its 30 s budget plus the 30 s margin, its worker alive.
        assert not runs_sweep().acted
        assert AgentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
        AgentRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(seconds=61))
        assert runs_sweep().timed_out == 1
    assert_escalated_once(run, TIMED_OUT)


def test_it_measures_the_budget_from_the_claim_not_from_the_queue(workspace, helpcenter, agent_mode):
    # Queued for ten minutes behind other work, claimed 10 s ago: not late.
    old = timezone.now() - timedelta(minutes=10)
    run = queued_run(workspace, status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(seconds=10))
    AgentRun.objects.filter(pk=run.pk).update(created_at=old)
    with other_worker(lock_key(RUN_LOCKS, message_of(run))):
        assert not runs_sweep().acted


@pytest.mark.parametrize("late_worker", ["sends", "fails"])
def test_a_worker_finishing_after_the_sweep_neither_sends_nor_escalates_again(
    workspace, helpcenter, agent_mode, monkeypatch, late_worker
):
    """The worker is alive (this session holds the run's lock) but past its budget + margin when
    the sweep comes, between its tools and its decision; it then goes on to its send, or fails."""
    ConfidenceRule.objects.create(workspace=workspace, channel="", ticket_type="", autosend_threshold=0.0)
    ticket = new_ticket(workspace, PASSWORD_Q)
    original = pipeline._run_tools

    def tools_then_sweep(ctx, calls):
        result = original(ctx, calls)
        AgentRun.objects.filter(pk=ctx.run.pk).update(started_at=timezone.now() - timedelta(minutes=5))
        assert runs_sweep().timed_out == 1
        if late_worker == "fails":
            raise pipeline.BudgetExceeded
        return result

    monkeypatch.setattr(pipeline, "_run_tools", tools_then_sweep)
    assert agent_run_task(first_message(ticket).pk, workspace.pk) == "failed:escalate"
    run = AgentRun.objects.get(ticket=ticket)
    assert_escalated_once(run, TIMED_OUT)
    assert AuditEvent.objects.filter(ticket=ticket, kind="ai.decided").count() == 1


def test_it_fails_a_queued_run_whose_task_was_lost_but_not_one_in_the_broker(
    workspace, helpcenter, agent_mode, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf
    from django_q.models import OrmQ

    long_ago = timezone.now() - timedelta(minutes=5)
    lost = queued_run(workspace, created_at=long_ago)
    # Enqueued for real through the ORM broker: its task waits there (a backlog), the run is fine.
    monkeypatch.setattr(Conf, "SYNC", False)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = new_ticket(workspace, "Where can I read about returns?")
    assert OrmQ.objects.count() == 1
    AgentRun.objects.filter(ticket=waiting).update(created_at=long_ago)
    recent = queued_run(workspace, "Do you ship to Canada?")
    result = runs_sweep()
    assert (result.never_started, result.stopped) == (1, 0)
    assert_escalated_once(lost, NEVER_STARTED)
    assert AgentRun.objects.get(ticket=waiting).status == RunStatus.QUEUED
    assert AgentRun.objects.get(pk=recent.pk).status == RunStatus.QUEUED


def test_a_workspace_over_its_slots_waits_without_holding_a_worker_and_others_run(
    workspace, other_workspace, helpcenter, agent_mode, settings
):
    settings.OASIS_WORKSPACE_RUNS = 1
    mine = queued_run(workspace)
    theirs = queued_run(other_workspace, "Hello, where is my parcel?")
    with other_worker(slot_key(workspace.pk, 0)):  # a run of the same workspace holds its one slot
        assert agent_run_task(message_of(mine), workspace.pk) == "waiting for a run slot"
        mine.refresh_from_db()
        assert mine.status == RunStatus.QUEUED and mine.deferred_at is not None
        assert agent_run_task(message_of(theirs), other_workspace.pk).startswith("done:")
        # The slot is taken: the sweep does not hand the waiting run on.
        assert runs_sweep().handed_on == 0
    # Its holder stopped without handing it on: the sweep does (the task runs inline in tests).
    assert runs_sweep().handed_on == 1
    mine.refresh_from_db()
    assert mine.status == RunStatus.DONE and mine.deferred_at is None


def test_a_run_leaving_its_slot_hands_it_to_the_oldest_waiting_run(workspace, helpcenter, agent_mode, settings):
    settings.OASIS_WORKSPACE_RUNS = 1
    first, second = queued_run(workspace), queued_run(workspace, "How long do refunds take?")
    with other_worker(slot_key(workspace.pk, 0)):
        assert agent_run_task(message_of(first), workspace.pk) == "waiting for a run slot"
        assert agent_run_task(message_of(second), workspace.pk) == "waiting for a run slot"
    third = queued_run(workspace, "Can I change my email address?")
    assert agent_run_task(message_of(third), workspace.pk).startswith("done:")
    # The third run's end handed the slot to the first, whose end handed it to the second.
    statuses = AgentRun.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", "deferred_at")
    assert sorted(statuses) == [(RunStatus.DONE, None), (RunStatus.DONE, None)]
    finished = AgentRun.objects.filter(workspace=workspace).order_by("finished_at").values_list("pk", flat=True)
    assert list(finished) == [third.pk, first.pk, second.pk]


def test_a_task_whose_run_is_locked_by_a_live_worker_leaves_it(workspace, helpcenter, agent_mode, monkeypatch):
    import ai.agent.slots

    monkeypatch.setattr(ai.agent.slots, "LOCK_WAIT_S", 0.1)
    run = queued_run(workspace)
    with other_worker(lock_key(RUN_LOCKS, message_of(run))):
        assert agent_run_task(message_of(run), workspace.pk) == "running elsewhere"
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.QUEUED


def test_a_worker_process_sweeps_when_it_starts(workspace, helpcenter, agent_mode, monkeypatch):
    from django_q.conf import Conf
    from django_q.signals import post_spawn

    run = queued_run(workspace, status=RunStatus.RUNNING, started_at=timezone.now())
    post_spawn.send(sender="django_q", proc_name="MainProcess")  # a task run inline: no sweep
    assert AgentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
    monkeypatch.setattr(Conf, "SYNC", False)
    post_spawn.send(sender="django_q", proc_name="Process-1")
    assert_escalated_once(run, WORKER_STOPPED)


def test_the_sweep_is_scheduled_every_minute(db):
    from django_q.models import Schedule

    from ai.schedules import setup_sweep_schedules

    assert setup_sweep_schedules() == 1
    schedule = Schedule.objects.get(name="ai.runs_sweep")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("ai.tasks_agent.runs_sweep_task", "I", 1)


def wait_for(predicate, *, timeout: float, what: str, log=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            raise AssertionError(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.25)


def run_lock_held(message_id: int) -> bool:
    """Whether any session holds the run's lock (what the sweeper reads)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = %s)",
            [lock_key(RUN_LOCKS, message_id)],
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_a_cluster_killed_mid_run_comes_back_and_escalates_the_run_once(workspace, agent_mode, monkeypatch, tmp_path):
    """A real `qcluster` takes the run, its provider hangs, the cluster is SIGKILLed; started again,
    its worker sweeps at start: the ticket goes to a human with the reason, nothing is sent."""
    from django_q.conf import Conf
    from django_q.models import Schedule

    from ai.models import AISettings
    from oasis.qcluster_process import database_url, qcluster_start, qcluster_stop

    log = tmp_path / "qcluster.log"
    with FakeChatServer() as chat:
        chat.script = [("sleep", 60)]  # the provider never answers within the run
        AISettings.objects.create(
            workspace=workspace,
            chat_provider="openai",
            chat_base_url=chat.base_url,
            chat_model="test-model",
            time_budget_seconds=120.0,
        )
        # Only the worker's own sweep at start may rescue the run: no schedule due meanwhile.
        Schedule.objects.all().delete()
        monkeypatch.setattr(Conf, "SYNC", False)  # the message's task goes to the ORM broker
        ticket = new_ticket(workspace, PASSWORD_Q)
        run = AgentRun.objects.get(ticket=ticket)
        connection.ensure_connection()
        env = {"DATABASE_URL": database_url(connection.settings_dict), "OASIS_Q_WORKERS": "1"}
        cluster = qcluster_start(env=env, log=log)
        try:
            wait_for(lambda: len(chat.requests) == 1, timeout=120, what="the worker to call the provider", log=log)
            assert AgentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING
            assert run_lock_held(message_of(run))
            qcluster_stop(cluster, kill=True)
            wait_for(lambda: not run_lock_held(message_of(run)), timeout=30, what="the lock to go")
            assert AgentRun.objects.get(pk=run.pk).status == RunStatus.RUNNING  # stuck, until...
            cluster = qcluster_start(env=env, log=log)
            wait_for(
                lambda: AgentRun.objects.get(pk=run.pk).status != RunStatus.RUNNING,
                timeout=60,
                what="the restarted cluster's sweep",
                log=log,
            )
        finally:
            qcluster_stop(cluster)
        assert_escalated_once(run, WORKER_STOPPED)
        assert len(chat.requests) == 1

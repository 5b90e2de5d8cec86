"""`make test-redis`: Redis as the django-q2 broker, for real (not part of `make test`).

A throwaway embedded Postgres (var/test-redis-pg), a real `redis-server` on a free loopback port
(no persistence), two `qcluster` processes with REDIS_URL, 200 tasks enqueued through Redis: each
must run exactly once (one row per task in a table the tasks write). An Agent-run task goes the
same way (a customer's message to a workspace with the Agent on, answered by a worker), and the
stale-run sweeper's listing of the broker finds it in the Redis list before the clusters start.
Exits non-zero on any failure; the last line is JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASKS = 200


def record(n: int) -> int:
    """The task: note that task `n` ran, and where (the cluster's sentinel is the worker's parent)."""
    from django.db import connection

    time.sleep(0.01)  # long enough for both clusters to take a share
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO redis_check_runs (n, cluster) VALUES (%s, %s)", [n, os.getppid()])
    return n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"redis-server did not listen on {port}")


def main() -> int:
    pgdata = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "test-redis-pg")))
    port = free_port()
    os.environ.update(
        {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "OASIS_TESTING": "1",
            "OASIS_Q_SYNC": "0",
            "OASIS_LOG_LEVEL": os.environ.get("OASIS_LOG_LEVEL", "WARNING"),
            "DJANGO_SETTINGS_MODULE": "oasis.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    from bench.common import fresh_database, say

    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (make test-redis installs Debian's redis-server)")
    fresh_database(pgdata)
    workdir = Path(tempfile.mkdtemp(prefix="oasis-redis-"))
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=(workdir / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    clusters: list[subprocess.Popen[bytes]] = []
    try:
        wait_for_port(port, 20)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django_q.brokers import get_broker
        from django_q.tasks import async_task

        from ai.agent.sweep import broker_pending_messages
        from ai.models import AgentRun, RunStatus
        from audit.services import Actor
        from helpdesk.services import ticket_create, workspace_create, workspace_update
        from oasis.qcluster_process import database_url, qcluster_start

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE redis_check_runs (n integer NOT NULL, cluster integer NOT NULL)")
        broker = get_broker()
        assert type(broker).__module__.endswith("redis_broker"), type(broker)
        say(f"broker: {broker.info()} at 127.0.0.1:{port}; enqueueing {TASKS} tasks")
        for n in range(TASKS):
            async_task("tests.redis_broker.record", n, task_name=f"redis-check-{n}")
        actor = Actor.system("test-redis")
        workspace = workspace_create(name="Redis Check", slug="redis-check", actor=actor)
        workspace_update(workspace=workspace, actor=actor, changes={"mode": "agent"})
        ticket = ticket_create(
            workspace=workspace,
            channel="api",
            customer_email="r@example.test",
            subject="",
            body="I forgot my password.",
        )
        run = AgentRun.objects.get(ticket=ticket)
        queued = broker.queue_size()
        pending = broker_pending_messages()
        env = {"DATABASE_URL": database_url(connection.settings_dict), "OASIS_Q_WORKERS": "2"}
        log = ROOT / "var" / "test-redis-qcluster.log"
        log.write_bytes(b"")
        started = time.monotonic()
        clusters = [qcluster_start(env=env, log=log) for _ in range(2)]
        ran = 0
        finished = False
        while time.monotonic() - started < 180 and (ran < TASKS or broker.queue_size() or not finished):
            time.sleep(0.5)
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM redis_check_runs")
                ran = cursor.fetchone()[0]
            run.refresh_from_db()
            finished = run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)
        elapsed = time.monotonic() - started
        time.sleep(3)  # a task run twice would show up now
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT n) FROM redis_check_runs")
            ran, distinct = cursor.fetchone()
            cursor.execute("SELECT cluster, count(*) FROM redis_check_runs GROUP BY 1 ORDER BY 1")
            per_sentinel = [count for _, count in cursor.fetchall()]
        result = {
            "tasks": TASKS,
            "queued_in_redis": queued,
            "sweeper_saw_agent_task": pending is not None and run.trigger_message_id in pending,
            "ran": ran,
            "duplicates": ran - distinct,
            "missing": TASKS - distinct,
            "per_cluster": per_sentinel,
            "left_in_redis": broker.queue_size(),
            "agent_run": f"{run.status}:{run.decision}",
            "elapsed_s": round(elapsed, 1),
        }
        ok = (
            result["queued_in_redis"] == TASKS + 1
            and result["sweeper_saw_agent_task"]
            and ran == distinct == TASKS
            and len(per_sentinel) == 2
            and result["left_in_redis"] == 0
            and run.status == RunStatus.DONE
        )
        say(f"{ran} runs of {TASKS} tasks over {len(per_sentinel)} clusters {per_sentinel}: {'OK' if ok else 'FAILED'}")
        print(json.dumps(result))
        return 0 if ok else 1
    finally:
        from oasis.qcluster_process import qcluster_stop

        for cluster in clusters:
            qcluster_stop(cluster)
        redis.terminate()
        redis.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(pgdata)], cwd=ROOT, check=False)


if __name__ == "__main__":
    sys.exit(main())

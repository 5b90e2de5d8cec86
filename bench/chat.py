"""Chat benchmark: concurrent widget sessions over real HTTP against gunicorn on loopback.

Its own embedded Postgres (var/bench-chat-pg, wiped at the start), a help center and a shop, the
Agent switched on with chat autosend allowed. The production shape: gunicorn with the project's
gunicorn.conf.py (BENCH_WORKERS=4 gthread workers x BENCH_THREADS=80, the GIL switched every 0.2
ms, a connection pool of BENCH_POOL=12 per worker) serves the widget API and only commits the
message; the Agent runs in a django-q cluster beside it (BENCH_Q_WORKERS=4 workers, the ORM
broker on the same Postgres). Each of BENCH_SESSIONS (200) sessions starts like the widget does,
then sends BENCH_MESSAGES (5) messages; like the open widget, it always has a long-poll waiting
(`wait=25`; a NOTIFY wakes it the moment the thread changes): after each message until the AI's
reply or the "a person will answer" notice is visible, then while it "reads and types" for
BENCH_THINK_S seconds (uniform, default 20-40) before the next message. One post in five is sent
twice with the same client id (a retry on reconnect), which must not duplicate. Server logs:
var/bench-chat-server.log and var/bench-chat-qcluster.log.

Measured: time from sending a message to its answer being visible. At the end every thread is
read back: a message missing is "lost", one shown twice is "duplicated". Each answered message's
timings (sent at, POST, answer, the Agent's decision) go to var/bench-chat-messages.json.
Last line JSON: {"p95_s", "lost", "duplicated", ...}.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = ROOT / "var" / "bench-chat-pg"
os.environ["OASIS_PGDATA"] = str(PGDATA)
os.environ.setdefault("OASIS_TESTING", "1")
os.environ["OASIS_Q_SYNC"] = "1"  # the setup (help-center embeddings) runs inline; servers get 0
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.chat_settings"
sys.path.insert(0, str(ROOT))

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5"))
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK_S", "20,40").split(","))
RAMP_S = float(os.environ.get("BENCH_RAMP_S", "20"))
POLL_S = 1.5  # the widget's pause after a failed poll
WAIT_S = 25  # the widget's long-poll (static/widget/oasis-chat.js WAIT_S)
IDLE_POLL = os.environ.get("BENCH_IDLE_POLL", "1") == "1"  # an open widget long-polls while idle
ANSWER_TIMEOUT_S = 120.0

QUESTIONS = [
    "Where is my order {order}? It hasn't arrived yet.",
    "When will order {order} be delivered?",
    "How many days do I have to return something?",
    "Does the rain jacket run true to size?",
    "I forgot my password and can't sign in.",
    "Can I wash the sweater in the machine?",
    "Do you have a tracking number for {order}?",
]


def say(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup() -> list[dict[str, Any]]:
    if PGDATA.exists():
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
        shutil.rmtree(PGDATA)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command

    from ai.models import ConfidenceRule
    from audit.services import Actor
    from bench.agent import ARTICLES
    from helpdesk.helpcenter_import import import_helpcenter
    from helpdesk.services import workspace_create, workspace_update
    from helpdesk.shop import orders_load

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    workspace = workspace_create(name="Bench Shop", slug="bench", actor=actor)
    workspace_update(workspace=workspace, actor=actor, changes={"mode": "agent"})
    ConfidenceRule.objects.create(workspace=workspace, channel="chat", ticket_type="", autosend_threshold=0.0)
    with tempfile.TemporaryDirectory() as folder:
        for name, text in ARTICLES.items():
            (Path(folder) / name).write_text(text)
        import_helpcenter(workspace=workspace, path=Path(folder), actor=actor)
    orders = [
        {
            "number": f"C{10000 + i}",
            "customer_email": f"customer{i}@bench.test",
            "status": "shipped",
            "placed_at": "2026-11-01T10:00:00Z",
            "shipped_at": "2026-11-03T10:00:00Z",
            "delivered_at": None,
            "carrier": "UPS",
            "tracking_number": f"1Z{1000000 + i}",
            "currency": "USD",
            "total": "40.00",
            "items": [{"sku": "JKT", "name": "Rain jacket", "qty": 1, "price": "40.00", "final_sale": False}],
        }
        for i in range(SESSIONS)
    ]
    orders_load(workspace=workspace, data={"orders": orders}, actor=actor)
    from django.db import connections

    connections.close_all()
    return orders


SERVER_LOG = ROOT / "var" / "bench-chat-server.log"
QCLUSTER_LOG = ROOT / "var" / "bench-chat-qcluster.log"


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "OASIS_LOG_LEVEL": "WARNING",
        "OASIS_Q_SYNC": "0",  # the Agent runs in the qcluster, off the request path
        "OASIS_Q_WORKERS": os.environ.get("BENCH_Q_WORKERS", "4"),
        # One inference thread per process: the processes already share the 2 cores.
        "OASIS_EMBEDDING_THREADS": "1",
    }


def start_qcluster() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=server_env(),
        stdout=QCLUSTER_LOG.open("wb"),
        stderr=subprocess.STDOUT,
    )


def start_server(port: int) -> subprocess.Popen[bytes]:
    # The web processes take their connections from a pool: a waiting long-poll holds none.
    env = {**server_env(), "DB_POOL_MAX_SIZE": os.environ.get("BENCH_POOL", "12")}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "oasis.wsgi:application",
            "--config",
            str(ROOT / "gunicorn.conf.py"),  # the production settings (workers, threads, GIL switch)
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("BENCH_WORKERS", "4"),
            "--worker-class",
            "gthread",
            "--threads",
            # One per waiting long-poll: 200 open widgets over 4 workers, with room for posts.
            os.environ.get("BENCH_THREADS", "80"),
            "--timeout",
            "300",
            "--keep-alive",
            "75",  # like a proxy in front would: the widgets' polls reuse their connection
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=SERVER_LOG.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("gunicorn did not start")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.post_latencies: list[float] = []  # diagnostic: the POST alone (accepted, not answered)
        self.steady: list[float] = []  # messages sent after every session has started
        self.started_at = time.perf_counter()
        self.replies = 0
        self.notices = 0
        self.timeouts = 0
        self.errors = 0
        self.retried = 0
        self.sent: dict[str, list[str]] = {}  # session token -> client ids
        self.session_errors = 0
        self.failures: dict[str, int] = {}  # "<method> <path>: <why>" -> count
        self.polls: dict[int, int] = {}  # status -> count
        self.records: list[dict[str, Any]] = []  # per answered message, for var/bench-chat-messages.json

    def failed(self, what: str) -> None:
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1


class Client:
    """One keep-alive HTTP/1.1 connection per session (a browser tab)."""

    def __init__(self, port: int, stats: Stats | None = None) -> None:
        self.port = port
        self.stats = stats
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWER_TIMEOUT_S)
        self.token = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["X-Oasis-Session"] = self.token
        payload = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            try:
                self.conn.request(method, "/chat/api/bench/" + path, body=payload, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.status >= 500:
                    # What the widget does too: a server error is retried (posts are idempotent).
                    raise http.client.HTTPException(f"server error {response.status}")
                return response.status, json.loads(data or b"{}")
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if self.stats is not None:
                    self.stats.failed(f"{method} {path.split('?')[0]}: {type(exc).__name__} {str(exc)[:60]}")
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ANSWER_TIMEOUT_S)
                time.sleep(0.5 * (attempt + 1))
        return 0, {}


def session(port: int, index: int, order: str, stats: Stats, rng: random.Random) -> None:
    time.sleep(rng.uniform(0, RAMP_S))
    client = Client(port, stats)
    status, data = client.call(
        "POST", "sessions/", {"name": f"Customer {index}", "email": f"customer{index}@bench.test"}
    )
    if status != 201:
        stats.failed(f"POST sessions/: gave up with status {status}")
        with stats.lock:
            stats.errors += MESSAGES
            stats.session_errors += 1
        return
    client.token = data["session_token"]
    sent: list[str] = []
    with stats.lock:
        stats.sent[client.token] = sent
    seen = {"last_id": 0, "version": ""}

    def poll(wait: float) -> tuple[int, Any]:
        """The widget's poll: what is new after the last message, unless the version is unchanged."""
        status, data = client.call("GET", f"messages/?after={seen['last_id']}&v={seen['version']}&wait={wait:g}")
        if status == 200:
            for m in data["messages"]:
                seen["last_id"] = max(seen["last_id"], m["id"])
            seen["version"] = data.get("version", "")
        with stats.lock:
            stats.polls[status] = stats.polls.get(status, 0) + 1
        return status, data

    for n in range(MESSAGES):
        client_id = str(uuid.uuid4())
        body = rng.choice(QUESTIONS).format(order=order)
        t0 = time.perf_counter()
        # Like the widget: a failed post (5xx, 429, dropped connection) is retried with the
        # same client id, which the server turns into exactly one message.
        for attempt in range(6):
            status, data = client.call("POST", "messages/", {"client_id": client_id, "body": body})
            if status in (200, 201):
                break
            if status:
                stats.failed(f"POST messages/: status {status}")
            with stats.lock:
                stats.retried += 1
            time.sleep(0.5 * 2**attempt)
        if status not in (200, 201):
            with stats.lock:
                stats.errors += 1
            continue
        sent.append(client_id)
        post_s = time.perf_counter() - t0
        with stats.lock:
            stats.post_latencies.append(post_s)
        mine = data["message"]["id"]
        if rng.random() < 0.2:  # the widget retrying after a dropped connection
            client.call("POST", "messages/", {"client_id": client_id, "body": body})
        outcome = ""
        while time.perf_counter() - t0 < ANSWER_TIMEOUT_S:
            status, data = poll(WAIT_S)  # a long-poll: answers as soon as the thread changes
            if status == 200:
                if any(m["kind"] == "reply" and m["id"] > mine for m in data["messages"]):
                    outcome = "reply"
                if not outcome and data["state"] and data["state"]["notice"]:
                    outcome = "notice"
            if outcome:
                break
            if status not in (200, 204):
                time.sleep(POLL_S)
        with stats.lock:
            if outcome:
                stats.latencies.append(time.perf_counter() - t0)
                if t0 - stats.started_at > RAMP_S:
                    stats.steady.append(time.perf_counter() - t0)
                stats.replies += outcome == "reply"
                stats.notices += outcome == "notice"
                stats.records.append(
                    {
                        "sent_s": round(t0 - stats.started_at, 3),
                        "n": n,
                        "post_s": round(post_s, 3),
                        "answered_s": round(time.perf_counter() - t0, 3),
                        "message_id": mine,
                    }
                )
            else:
                stats.timeouts += 1
        if n < MESSAGES - 1:
            # Reading and typing, the widget open: its long-poll waits meanwhile (cut to end
            # when the customer sends, where the widget's would be woken by the post itself).
            until = time.perf_counter() + rng.uniform(*THINK)
            while (left := until - time.perf_counter()) > 0:
                if IDLE_POLL and left > 1:
                    status, _ = poll(min(WAIT_S, left))
                    if status not in (200, 204):
                        time.sleep(min(POLL_S, left))
                else:
                    time.sleep(left)


def warm_up(port: int) -> None:
    """Not measured: a long-running deployment's workers have loaded the embedding model, the
    seed triage classifier and the help center's sentence vectors long before a customer
    writes. A fresh django-q worker spends seconds on that in its first run, so each worker
    (and each gunicorn worker) gets a few conversations before the clock starts."""
    started = time.perf_counter()
    done: list[bool] = []

    def one(i: int) -> None:
        client = Client(port)
        status, data = client.call("POST", "sessions/", {"name": "Warm up", "email": f"warmup{i}@bench.test"})
        if status != 201:
            return
        client.token = data["session_token"]
        status, data = client.call(
            "POST", "messages/", {"client_id": f"warm-{i}", "body": QUESTIONS[i % 3].format(order="C10000")}
        )
        version = ""
        while status in (200, 201, 204) and time.perf_counter() - started < 300:
            status, data = client.call("GET", f"messages/?after=0&v={version}&wait=10")
            if status == 200:
                version = data["version"]
                if any(m["kind"] == "reply" for m in data["messages"]) or (data["state"] or {}).get("notice"):
                    done.append(True)
                    return

    workers = int(os.environ.get("BENCH_Q_WORKERS", "4"))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(3 * workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    say(f"warmed up: {len(done)}/{len(threads)} answered in {time.perf_counter() - started:.1f} s")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its descendants (live ones, and those it has reaped)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / tick  # utime, stime, cutime, cstime
        todo.extend(children.get(current, []))
    return round(total, 1)


def run_figures() -> dict[str, Any]:
    """From the database: how long the Agent took from the customer's message to its decision."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
            "percentile_cont(0.95) WITHIN GROUP (ORDER BY d), max(d) FROM ("
            "SELECT extract(epoch FROM r.finished_at - m.created_at) AS d FROM ai_agentrun r "
            "JOIN helpdesk_message m ON m.id = r.trigger_message_id WHERE r.finished_at IS NOT NULL) x"
        )
        count, p50, p95, top = cursor.fetchone()
        cursor.execute("SELECT status || ':' || decision, count(*) FROM ai_agentrun GROUP BY 1 ORDER BY 1")
        statuses = dict(cursor.fetchall())
        # Per message, for the timeline file: when the run was queued and when it decided.
        cursor.execute(
            "SELECT m.id, extract(epoch FROM r.created_at - m.created_at), "
            "extract(epoch FROM r.finished_at - m.created_at) FROM ai_agentrun r "
            "JOIN helpdesk_message m ON m.id = r.trigger_message_id WHERE r.finished_at IS NOT NULL"
        )
        runs = {row[0]: (round(float(row[1]), 3), round(float(row[2]), 3)) for row in cursor.fetchall()}
    connection.close()
    return {
        "finished": count,
        "message_to_decision_p50_s": round(float(p50 or 0), 3),
        "message_to_decision_p95_s": round(float(p95 or 0), 3),
        "message_to_decision_max_s": round(float(top or 0), 3),
        "statuses": statuses,
        "_runs": runs,
    }


def verify(port: int, stats: Stats) -> tuple[int, int]:
    lost = duplicated = 0
    client = Client(port)
    for token, client_ids in stats.sent.items():
        client.token = token
        _, data = client.call("GET", "messages/?after=0")
        shown = [m["client_id"] for m in data["messages"] if m["kind"] == "customer"]
        ids = [m["id"] for m in data["messages"]]
        duplicated += (len(shown) - len(set(shown))) + (len(ids) - len(set(ids)))
        lost += sum(1 for c in client_ids if c not in shown)
    return lost, duplicated


def load(port: int, orders: list[dict[str, Any]]) -> dict[str, Any]:
    stats = Stats()
    stats.started_at = time.perf_counter()
    rng = random.Random(10)
    threads = [
        threading.Thread(target=session, args=(port, i, orders[i]["number"], stats, random.Random(rng.random())))
        for i in range(SESSIONS)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lost, duplicated = verify(port, stats)
    lat = sorted(stats.latencies)

    def pct(q: float, values: list[float] = lat) -> float | None:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None

    return {
        "sessions": SESSIONS,
        "messages": SESSIONS * MESSAGES,
        "think_s": list(THINK),
        "elapsed_s": round(elapsed, 1),
        "answered": len(lat),
        "ai_replies": stats.replies,
        "handoff_notices": stats.notices,
        "timeouts": stats.timeouts,
        "post_errors": stats.errors,
        "session_errors": stats.session_errors,
        "failures": stats.failures,
        "polls": {str(k): v for k, v in sorted(stats.polls.items())},
        "post_retries": stats.retried,
        "p50_s": pct(0.5),
        "p95_s": pct(0.95),
        "post_p50_s": pct(0.5, stats.post_latencies),
        "post_p95_s": pct(0.95, stats.post_latencies),
        "max_s": round(lat[-1], 3) if lat else None,
        # Diagnostic: the same after the ramp (every session started; the first messages of
        # all sessions arrive within BENCH_RAMP_S, faster than the steady rate).
        "after_ramp": {
            "answered": len(stats.steady),
            "p50_s": pct(0.5, stats.steady),
            "p95_s": pct(0.95, stats.steady),
        },
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "lost": lost + stats.errors,
        "duplicated": duplicated,
        "_records": stats.records,
    }


def write_timeline(records: list[dict[str, Any]], runs: dict[int, tuple[float, float]]) -> None:
    """var/bench-chat-messages.json: per answered message, when it was sent (s after the start),
    the POST's time, the time to the answer, and from the database the Agent run's queueing and
    decision times (s after the message was stored). For finding where a slow run's time went."""
    for record in records:
        queued, decided = runs.get(record["message_id"], (None, None))
        record["run_created_s"], record["run_decided_s"] = queued, decided
    (ROOT / "var" / "bench-chat-messages.json").write_text(json.dumps(sorted(records, key=lambda r: r["sent_s"])))


def main() -> None:
    # A `kill` (or `timeout`) still stops gunicorn, the cluster and Postgres (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    orders = setup()
    say(
        f"workspace ready: {SESSIONS} customers with an order each; starting gunicorn and qcluster "
        f"(load average {os.getloadavg()[0]:.2f})"
    )
    port = free_port()
    qcluster = start_qcluster()
    server = start_server(port)
    try:
        warm_up(port)
        say(f"load average {os.getloadavg()[0]:.2f}; {SESSIONS} sessions start")
        postmaster = int((PGDATA / "postmaster.pid").read_text().split()[0])

        def cpu_now() -> dict[str, float]:
            return {
                "gunicorn": cpu_seconds(server.pid),
                "qcluster": cpu_seconds(qcluster.pid),
                "postgres": cpu_seconds(postmaster),
            }

        cpu_before = cpu_now()
        client_before = sum(os.times()[:2])
        result = load(port, orders)
        cpu = cpu_now()
        result["cpu_s"] = {k: round(v - cpu_before[k], 1) for k, v in cpu.items()}
        result["cpu_s"]["bench_client"] = round(sum(os.times()[:2]) - client_before, 1)
        result["agent_runs"] = run_figures()
        write_timeline(result.pop("_records"), result["agent_runs"].pop("_runs"))
    finally:
        server.terminate()
        qcluster.terminate()
        server.wait(timeout=30)
        qcluster.wait(timeout=60)
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
    say(
        f"answered {result['answered']}/{result['messages']}: {result['ai_replies']} AI replies, "
        f"{result['handoff_notices']} handoff notices, {result['timeouts']} timeouts"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

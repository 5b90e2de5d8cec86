"""Chat benchmark: concurrent widget sessions over real HTTP against gunicorn on loopback.

Its own embedded Postgres (var/bench-chat-pg, wiped at the start), a help center and a shop,
the Agent switched on with chat autosend allowed. gunicorn (4 gthread workers) serves the
widget API with OASIS_Q_SYNC=1, so the Agent runs inside the POST, after commit. Each of
BENCH_SESSIONS (200) sessions starts like the widget does, then sends BENCH_MESSAGES (5)
messages; after each it polls like the widget (at once after the POST returns, then every
1.5 s) until the AI's reply (or the "a person will answer" notice) is visible, then "reads and
types" for BENCH_THINK_S seconds (uniform, default 20-40) before the next message. One post in
five is sent twice with the same client id (a retry on reconnect), which must not duplicate.

Measured: time from sending a message to its answer being visible. At the end every thread is
read back: a message missing is "lost", one shown twice is "duplicated".
Last line JSON: {"p95_s", "lost", "duplicated", ...}.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
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
os.environ["OASIS_Q_SYNC"] = "1"
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.chat_settings"
sys.path.insert(0, str(ROOT))

SESSIONS = int(os.environ.get("BENCH_SESSIONS", "200"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "5"))
THINK = tuple(float(x) for x in os.environ.get("BENCH_THINK_S", "20,40").split(","))
RAMP_S = float(os.environ.get("BENCH_RAMP_S", "20"))
POLL_S = 1.5
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


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OASIS_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "oasis.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("BENCH_WORKERS", "4"),
            "--worker-class",
            "gthread",
            "--threads",
            "8",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
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
        self.replies = 0
        self.notices = 0
        self.timeouts = 0
        self.errors = 0
        self.retried = 0
        self.sent: dict[str, list[str]] = {}  # session token -> client ids


class Client:
    """One keep-alive HTTP/1.1 connection per session (a browser tab)."""

    def __init__(self, port: int) -> None:
        self.port = port
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
            except (OSError, http.client.HTTPException, ValueError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=ANSWER_TIMEOUT_S)
                time.sleep(0.5 * (attempt + 1))
        return 0, {}


def session(port: int, index: int, order: str, stats: Stats, rng: random.Random) -> None:
    time.sleep(rng.uniform(0, RAMP_S))
    client = Client(port)
    status, data = client.call(
        "POST", "sessions/", {"name": f"Customer {index}", "email": f"customer{index}@bench.test"}
    )
    if status != 201:
        with stats.lock:
            stats.errors += MESSAGES
        return
    client.token = data["session_token"]
    sent: list[str] = []
    with stats.lock:
        stats.sent[client.token] = sent
    last_id = 0
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
            with stats.lock:
                stats.retried += 1
            time.sleep(0.5 * 2**attempt)
        if status not in (200, 201):
            with stats.lock:
                stats.errors += 1
            continue
        sent.append(client_id)
        mine = data["message"]["id"]
        if rng.random() < 0.2:  # the widget retrying after a dropped connection
            client.call("POST", "messages/", {"client_id": client_id, "body": body})
        outcome = ""
        while time.perf_counter() - t0 < ANSWER_TIMEOUT_S:
            status, data = client.call("GET", f"messages/?after={last_id}")
            if status == 200:
                for m in data["messages"]:
                    last_id = max(last_id, m["id"])
                    if m["kind"] == "reply" and m["id"] > mine:
                        outcome = "reply"
                if not outcome and data["state"] and data["state"]["notice"]:
                    outcome = "notice"
            if outcome:
                break
            time.sleep(POLL_S)
        with stats.lock:
            if outcome:
                stats.latencies.append(time.perf_counter() - t0)
                stats.replies += outcome == "reply"
                stats.notices += outcome == "notice"
            else:
                stats.timeouts += 1
        if n < MESSAGES - 1:
            time.sleep(rng.uniform(*THINK))


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

    def pct(q: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3) if lat else None

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
        "post_retries": stats.retried,
        "p50_s": pct(0.5),
        "p95_s": pct(0.95),
        "max_s": round(lat[-1], 3) if lat else None,
        "lost": lost + stats.errors,
        "duplicated": duplicated,
    }


def main() -> None:
    orders = setup()
    say(f"workspace ready: {SESSIONS} customers with an order each; starting gunicorn")
    port = free_port()
    server = start_server(port)
    try:
        result = load(port, orders)
    finally:
        server.terminate()
        server.wait(timeout=30)
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
    say(
        f"answered {result['answered']}/{result['messages']}: {result['ai_replies']} AI replies, "
        f"{result['handoff_notices']} handoff notices, {result['timeouts']} timeouts"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()

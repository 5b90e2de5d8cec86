"""Faults benchmark: runs that go wrong, and money that must not move twice.

Its own embedded Postgres (var/bench-faults-pg via OASIS_PGDATA, wiped at the start); a real
`qcluster` (BENCH_Q_WORKERS=2 workers, the ORM broker) runs the Agent; a local OpenAI-wire server
(ai/tests/chat_server.py) answers by mode (`/slow`: after BENCH_SLOW_S, `/garbage`: not JSON,
`/hang`: never), and a closed port stands for a provider that is down. Phases:

1. quiet: two workspaces on the local provider get BENCH_LOAD messages, one every BENCH_GAP_S;
2. hanging: the same load while a third workspace's provider hangs on 4 runs (BENCH_HANG_BUDGET s
   budget each); the other workspaces' p95 (message -> decision) over the quiet p95 is the ratio;
3. faults: 3 messages each to a workspace whose provider is down, slow, or answers garbage;
4. a worker SIGKILLed mid-run (its provider hanging), then the cluster started again;
5. refunds racing through the tool path (3 tickets x 60.00 on each 150.00 order) and the approval
   queue (two managers approving one 120.00 refund at once), with `audit_prune` running between
   and beside them; the refunded totals are read through `DbShopConnector.get_order().refunded`.

At the end no run may be stuck (queued or running), lost, or decided twice; no order refunded past
its total; no task or run may have failed with an error of ours. Last line JSON with `stuck`,
`lost`, `decided_twice`, `over_refunded`, `server_errors` (all 0 to pass) and
`other_workspace_p95_ratio` (<= 2).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-faults-pg")))
os.environ.setdefault("OASIS_TESTING", "1")
os.environ["OASIS_Q_SYNC"] = "1"  # the setup (help-center embeddings) runs inline; the cluster gets 0
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
# Replies to e-mail tickets (an approved refund's) are sent by the cluster: kept in memory here.
os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, say  # noqa: E402

WORKERS = int(os.environ.get("BENCH_Q_WORKERS", "2"))
LOAD = int(os.environ.get("BENCH_LOAD", "30"))
GAP_S = float(os.environ.get("BENCH_GAP_S", "1.5"))
HANG_BUDGET = float(os.environ.get("BENCH_HANG_BUDGET", "30"))
SLOW_S = float(os.environ.get("BENCH_SLOW_S", "3"))
QCLUSTER_LOG = ROOT / "var" / "bench-faults-qcluster.log"
QUESTIONS = [
    "How many days do I have to return something?",
    "Does the rain jacket run true to size?",
    "I forgot my password and can't sign in.",
    "Can I wash the sweater in the machine?",
    "How long does standard delivery take?",
]
ORDER_TOTAL = Decimal("150.00")


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there any more: "endpoint unreachable"


def chat_server() -> Any:
    """The providers' local OpenAI-wire server: answers by the base URL's mode."""
    from ai.tests.chat_server import FakeChatServer

    # "hang" and "kill" sleep past any run's budget: the client gives up at its deadline.
    return FakeChatServer(
        modes={"hang": ("sleep", 600), "kill": ("sleep", 600), "slow": ("sleep", SLOW_S), "garbage": "garbage"}
    )


def setup(chat: Any) -> dict[str, Any]:
    """Workspaces: two on the local provider with a help center, one per provider fault, a shop."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from ai.models import AISettings, ToolPermission
    from audit.services import Actor
    from bench.agent import ARTICLES
    from helpdesk.helpcenter_import import import_helpcenter
    from helpdesk.models import Role
    from helpdesk.services import membership_add, workspace_create, workspace_update
    from helpdesk.shop import orders_load

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    spaces: dict[str, Any] = {}
    providers = {
        "hang": chat.url("hang"),
        "kill": chat.url("kill"),
        "down": closed_port_url(),
        "slow": chat.url("slow"),
        "garbage": chat.url("garbage"),
    }
    for slug in ["w1", "w2", *providers, "shop"]:
        workspace = workspace_create(name=f"Faults {slug}", slug=slug, actor=actor)
        # The shop's refunds race through the tools only: its Agent drafts, never acts on them.
        mode = "copilot" if slug == "shop" else "agent"
        spaces[slug] = workspace_update(workspace=workspace, actor=actor, changes={"mode": mode})
        if slug in providers:
            AISettings.objects.create(
                workspace=workspace,
                chat_provider="openai",
                chat_base_url=providers[slug],
                chat_model="bench-model",
                time_budget_seconds=HANG_BUDGET,
            )
    with tempfile.TemporaryDirectory() as folder:
        for name, text in ARTICLES.items():
            (Path(folder) / name).write_text(text)
        for slug in ("w1", "w2"):
            import_helpcenter(workspace=spaces[slug], path=Path(folder), actor=actor)
    orders = [
        {
            "number": f"R{100 + i}",
            "customer_email": "refunds@bench.test",
            "status": "delivered",
            "placed_at": "2026-01-01T10:00:00Z",
            "shipped_at": "2026-01-02T10:00:00Z",
            "delivered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5 * 86400)),
            "carrier": "UPS",
            "tracking_number": f"1ZR{i}",
            "currency": "USD",
            "total": str(ORDER_TOTAL),
            "items": [{"sku": f"JKT-{i}", "name": "Rain jacket", "qty": 1, "price": str(ORDER_TOTAL)}],
        }
        for i in range(int(os.environ.get("BENCH_ORDERS", "8")))
    ]
    orders_load(workspace=spaces["shop"], data={"orders": orders}, actor=actor)
    ToolPermission.objects.update_or_create(workspace=spaces["shop"], tool="issue_refund", defaults={"enabled": True})
    users = get_user_model().objects
    managers = [users.create_user(username=f"m{i}@bench.test", email=f"m{i}@bench.test") for i in range(2)]
    for user in managers:
        membership_add(workspace=spaces["shop"], user=user, role=Role.MANAGER, actor=actor)
    return {"spaces": spaces, "orders": [o["number"] for o in orders], "managers": managers}


def send(workspace: Any, body: str, email: str) -> int:
    """A customer's message (a new ticket over the API channel); its run goes to the broker."""
    from helpdesk.services import ticket_create

    ticket = ticket_create(workspace=workspace, channel="api", customer_email=email, subject="", body=body)
    return int(ticket.messages.values_list("pk", flat=True).get())


def run_status(message_ids: list[int]) -> Counter[str]:
    from ai.models import AgentRun

    runs = AgentRun.objects.filter(trigger_message_id__in=message_ids, kind="agent")
    return Counter(runs.values_list("status", flat=True))


def wait_decided(message_ids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = run_status(message_ids)
        if sum(statuses.values()) == len(message_ids) and not statuses["queued"] and not statuses["running"]:
            return True
        time.sleep(0.5)
    return False


def latencies(message_ids: list[int]) -> list[float]:
    """Seconds from each message to its run's decision, from the database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM r.finished_at - m.created_at) FROM ai_agentrun r "
            "JOIN helpdesk_message m ON m.id = r.trigger_message_id WHERE r.kind = 'agent' AND m.id = ANY(%s) "
            "AND r.finished_at IS NOT NULL ORDER BY 1",
            [message_ids],
        )
        return [float(row[0]) for row in cursor.fetchall()]


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else float("nan")


def load(spaces: dict[str, Any], tag: str) -> list[int]:
    """BENCH_LOAD messages to w1 and w2 in turn, one every BENCH_GAP_S."""
    sent = []
    for i in range(LOAD):
        workspace = spaces["w1" if i % 2 == 0 else "w2"]
        sent.append(send(workspace, QUESTIONS[i % len(QUESTIONS)], f"{tag}{i}@bench.test"))
        time.sleep(GAP_S)
    return sent


def wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def refund_race(shop: Any, orders: list[str], managers: list[Any], folder: Path) -> dict[str, Any]:
    """Refunds racing on each order through the tool path and the approval queue, with audit_prune
    running between and beside them. What the bench saw executed, and what the shop says."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from ai.tools import AlreadyDecided, ToolCall, action_approve, action_request_create, tool_check, tool_execute
    from ai.tools.connector import DbShopConnector
    from audit.services import Actor
    from helpdesk.services import ticket_create

    actor = Actor.ai("bench")
    executed: dict[str, Decimal] = dict.fromkeys(orders, Decimal("0"))
    errors: list[str] = []
    lock = threading.Lock()

    def in_thread(work: Any) -> Any:
        def run() -> None:
            try:
                work()
            except AlreadyDecided:
                pass  # the other manager approved it first: the expected loser of the race
            except Exception as exc:  # counted: anything else is an error of ours
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
            finally:
                connection.close()

        return threading.Thread(target=run)

    def refund_ticket(body: str) -> Any:
        """A refund request from a customer the trusted mail relay authenticated: the tools may act."""
        from helpdesk.models import VerificationMethod
        from helpdesk.services_identity import identity_verify

        ticket = ticket_create(
            workspace=shop, channel="email", customer_email="refunds@bench.test", subject="", body=body
        )
        identity_verify(
            ticket=ticket, method=VerificationMethod.EMAIL_AUTH, actor=Actor.system("bench"), evidence={"bench": True}
        )
        return ticket

    def refund(number: str, amount: str, n: int) -> Any:
        def work() -> None:
            ticket = refund_ticket(f"Please refund {amount} on order {number} ({n}).")
            call = ToolCall("issue_refund", {"order_number": number, "amount": amount, "reason": f"bench {n}"})
            result = tool_execute(ticket=ticket, call=call, actor=actor)
            if result.status == "executed":
                with lock:
                    executed[number] += Decimal(amount)

        return in_thread(work)

    def approve(action: Any, user: Any, number: str) -> Any:
        def work() -> None:
            done = action_approve(action=action, user=user)
            if done.status == "executed":
                with lock:
                    executed[number] += Decimal(done.args["amount"])

        return in_thread(work)

    def prune(n: int) -> Any:
        archive = folder / f"prune-{n}.jsonl"
        before = timezone.now().isoformat()
        return in_thread(lambda: call_command("audit_prune", workspace=shop.slug, before=before, archive=str(archive)))

    def together(threads: list[Any]) -> None:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    held = []
    for number in orders[::2]:  # every other order: a 120.00 refund waits for a manager
        ticket = refund_ticket(f"Refund {number}")
        call = ToolCall("issue_refund", {"order_number": number, "amount": "120.00"})
        check = tool_check(ticket=ticket, call=call)
        if check.allowed and check.requires_approval:
            held.append(
                (
                    number,
                    action_request_create(ticket=ticket, run=None, call=call, check=check, reply_draft="", actor=actor),
                )
            )
        else:
            errors.append(f"setup: the 120.00 refund on {number} was not held for approval ({check.reason})")
    round_one = [refund(number, "60.00", n) for number in orders for n in range(3)]
    round_one += [approve(action, user, number) for number, action in held for user in managers]
    together([*round_one, prune(1)])
    together([prune(2)])
    together([refund(number, "60.00", n) for number in orders for n in range(3, 5)] + [prune(3)])
    reader = ticket_create(workspace=shop, channel="email", customer_email="refunds@bench.test", subject="", body="?")
    connector = DbShopConnector(ticket=reader, actor=Actor.system("bench"))
    refunded = {}
    for number in orders:
        info = connector.get_order(number)
        refunded[number] = info.refunded if info is not None else Decimal("0")
    over = [n for n in orders if max(refunded[n], executed[n]) > ORDER_TOTAL]
    return {
        "orders": len(orders),
        "order_totals": str(ORDER_TOTAL * len(orders)),
        "refunded_total": str(sum(refunded.values(), Decimal("0"))),
        "executed_total": str(sum(executed.values(), Decimal("0"))),
        "over_refunded": len(over),
        "shop_differs_from_executed": sum(refunded[n] != executed[n] for n in orders),
        "errors": errors,
    }


def outcome_counts(message_ids: list[int]) -> dict[str, int]:
    """Sent, decided once or twice, escalated, stuck, lost: over every message the bench sent."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
                count(*) FILTER (WHERE r.id IS NULL OR (r.status = 'superseded')),
                count(*) FILTER (WHERE r.status IN ('queued', 'running')),
                count(*) FILTER (WHERE r.decision = 'escalate'),
                count(*) FILTER (WHERE d.n = 1),
                count(*) FILTER (WHERE d.n > 1 OR t.n > 1 OR s.n > 1),
                coalesce(sum(s.n), 0)
            FROM helpdesk_message m
            LEFT JOIN ai_agentrun r ON r.trigger_message_id = m.id AND r.kind = 'agent'
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM audit_auditevent e
                WHERE e.ticket_id = m.ticket_id AND e.kind = 'ai.decided' AND (e.data->>'run')::bigint = r.id) d ON true
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM audit_auditevent e
                WHERE e.ticket_id = m.ticket_id AND e.kind = 'ticket.ai_decision'
                  AND (e.data->>'run')::bigint = r.id) t ON true
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM helpdesk_message x
                WHERE x.ticket_id = m.ticket_id AND x.author_kind = 'ai' AND x.kind = 'reply') s ON true
            WHERE m.id = ANY(%s)
            """,
            [message_ids],
        )
        lost, stuck, escalated, once, twice, sent = cursor.fetchone()
    return {
        "lost": lost,
        "stuck": stuck,
        "escalated": escalated,
        "decided_once": once,
        "decided_twice": twice,
        "sent": int(sent),
    }


def server_errors() -> list[str]:
    """Tasks that raised, and runs that failed on an exception of ours ("agent error: ...")."""
    from django_q.models import Task

    from ai.models import AgentRun

    failed_tasks = [
        f"task {name}: {str(result)[:120]}"
        for name, result in Task.objects.filter(success=False).values_list("name", "result")
    ]
    bugs = [
        f"run {pk}: {reason}"
        for pk, reason in AgentRun.objects.filter(reason__startswith="agent error").values_list("pk", "reason")
    ]
    return failed_tasks + bugs


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.conf import settings
    from django.db import connection
    from django_q.conf import Conf

    from ai.models import AgentRun
    from audit.services import audit_verify_workspace
    from oasis.qcluster_process import qcluster_start, qcluster_stop

    started = time.monotonic()
    chat = chat_server().__enter__()
    world = setup(chat)
    spaces = world["spaces"]
    Conf.SYNC = False  # from now on each message's run goes to the broker, for the cluster
    connection.close()
    env = {
        "OASIS_Q_WORKERS": str(WORKERS),
        "OASIS_Q_TIMEOUT": str(int(HANG_BUDGET + 15)),
        "OASIS_Q_RETRY": str(int(HANG_BUDGET + 30)),
        "OASIS_LOG_LEVEL": "WARNING",
        "OASIS_EMBEDDING_THREADS": "1",
    }
    QCLUSTER_LOG.write_bytes(b"")
    cluster = qcluster_start(env=env, log=QCLUSTER_LOG)
    sent: list[int] = []
    result: dict[str, Any] = {}
    try:
        warm = [send(spaces[s], QUESTIONS[i], f"warm{i}@bench.test") for i, s in enumerate(["w1", "w2"] * WORKERS)]
        say(f"setup {time.monotonic() - started:.0f} s; warming up {WORKERS} workers: {wait_decided(warm, 180)}")
        sent += warm

        quiet = load(spaces, "quiet")
        wait_decided(quiet, 120)
        quiet_p95 = p95(latencies(quiet))
        say(f"quiet: {LOAD} messages, p95 {quiet_p95:.2f} s ({time.monotonic() - started:.0f} s)")
        sent += quiet

        hung = [send(spaces["hang"], QUESTIONS[i], f"hang{i}@bench.test") for i in range(4)]
        busy = load(spaces, "busy")
        wait_decided(busy, 120)
        busy_p95 = p95(latencies(busy))
        ratio = busy_p95 / quiet_p95 if quiet_p95 else float("inf")
        say(f"one workspace's provider hanging: others' p95 {busy_p95:.2f} s, ratio {ratio:.2f}")
        sent += hung + busy

        faults = {
            mode: [send(spaces[mode], QUESTIONS[i], f"{mode}{i}@bench.test") for i in range(3)]
            for mode in ("down", "slow", "garbage")
        }
        sent += [m for ids in faults.values() for m in ids]
        wait_decided([m for ids in faults.values() for m in ids], 60)

        killed = send(spaces["kill"], "Where is my order?", "kill@bench.test")
        sent.append(killed)
        mid_run = wait_until(lambda: chat.by_mode["kill"] == 1, 60)
        qcluster_stop(cluster, kill=True)
        say(f"SIGKILLed the cluster with a run in its provider call: {mid_run}; starting it again")
        cluster = qcluster_start(env=env, log=QCLUSTER_LOG)

        with tempfile.TemporaryDirectory() as folder:
            refunds = refund_race(spaces["shop"], world["orders"], world["managers"], Path(folder))
        say(f"refunds: { ({k: v for k, v in refunds.items() if k != 'errors'}) }, {len(refunds['errors'])} errors")

        settled = wait_decided(sent, 4 * HANG_BUDGET + 60)
        wait_until(lambda: not AgentRun.objects.filter(status__in=["queued", "running"]).exists(), 60)
        counts = outcome_counts(sent)
        # Every run, the shop's drafts on the refund tickets too.
        counts["stuck"] = AgentRun.objects.filter(status__in=["queued", "running"]).count()
        reasons = {
            mode: dict(Counter(AgentRun.objects.filter(trigger_message_id__in=ids).values_list("reason", flat=True)))
            for mode, ids in {**faults, "hang": hung, "kill": [killed]}.items()
        }
        errors = server_errors() + refunds.pop("errors")
        result = {
            "messages": len(sent),
            **counts,
            "settled": settled,
            "over_refunded": refunds.pop("over_refunded"),
            "refunds": refunds,
            "server_errors": len(errors),
            "errors": dict(Counter(e.splitlines()[0][:160] for e in errors)),
            "quiet_p95_s": round(quiet_p95, 3),
            "hanging_p95_s": round(busy_p95, 3),
            "other_workspace_p95_ratio": round(ratio, 2),
            "fault_reasons": reasons,
            "provider_requests": dict(chat.by_mode),
            "audit_chains_ok": all(audit_verify_workspace(workspace_id=w.pk).ok for w in spaces.values()),
            "workers": WORKERS,
            "workspace_runs": settings.OASIS_WORKSPACE_RUNS,
            "elapsed_s": round(time.monotonic() - started, 1),
        }
    finally:
        qcluster_stop(cluster)
        chat.__exit__()
        connection.close()
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
    say(
        f"{result['messages']} messages: {result['sent']} AI replies, {result['decided_once']} decided once, "
        f"{result['escalated']} escalated, {result['stuck']} stuck, {result['lost']} lost; "
        f"refunded {result['refunds']['refunded_total']} of {result['refunds']['order_totals']}"
    )
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()

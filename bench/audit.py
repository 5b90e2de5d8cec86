"""Audit benchmark: 1,000,000 hash-chained events inserted with COPY, exported as JSON Lines, verified.

Run with `make bench-audit`. It uses its own embedded Postgres (var/bench-audit-pg, wiped at the
start). The events are real: each hash is computed in Python exactly as `audit_record` does,
so the verification at the end checks a genuine chain. The last line is one JSON object with
export_events_per_s and peak_rss_mb. Set BENCH_EVENTS to run a smaller size.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-audit-pg")))
os.environ.setdefault("OASIS_TESTING", "1")  # a local key and hosts; nothing else changes
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
from bench.common import fresh_database, peak_rss_mb, rss_mb, say  # noqa: E402

N = int(os.environ.get("BENCH_EVENTS", "1000000"))
BATCH = 20_000
EXPORT = ROOT / "var" / "bench-audit-export.jsonl"


class RssSampler(threading.Thread):
    """The highest RSS seen while the export runs (getrusage's peak covers the whole process)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.max_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.max_mb = max(self.max_mb, rss_mb())
            time.sleep(0.1)


def event_data(i: int) -> tuple[str, str, str, dict[str, Any]]:
    """A plausible mix: AI runs of eight events, customer messages, replies."""
    run = i // 8
    step = i % 8
    if step == 0:
        return "customer", "c@bench.test", "message.received", {"message": i, "kind": "customer", "chars": 80}
    if step == 1:
        return (
            "ai",
            "ai:local",
            "ai.run_started",
            {"run": run, "provider": "local", "model": "m", "prompt_version": "v3"},
        )
    if step == 2:
        return (
            "ai",
            "ai:local",
            "ai.retrieved",
            {
                "run": run,
                "query": "where is my order",
                "passages": [
                    {
                        "passage": i,
                        "article": 1,
                        "title": "Shipping",
                        "url": "https://help.bench.test/shipping",
                        "score": 0.81,
                    }
                ],
            },
        )
    if step == 3:
        return (
            "ai",
            "ai:local",
            "ai.tool_called",
            {
                "run": run,
                "tool": "lookup_order",
                "args": {"order": f"A{i}"},
                "status": "executed",
                "result": {"status": "shipped"},
            },
        )
    if step == 4:
        return (
            "ai",
            "ai:local",
            "ai.drafted",
            {
                "run": run,
                "draft": "Your order shipped yesterday with DHL.",
                "citations": [{"title": "Shipping", "url": "https://help.bench.test/s"}],
            },
        )
    if step == 5:
        return (
            "ai",
            "ai:local",
            "ai.scored",
            {
                "run": run,
                "confidence": (i % 100) / 100,
                "raw_confidence": 0.8,
                "parts": {"retrieval": 0.8, "groundedness": 0.9, "triage": 0.95},
            },
        )
    if step == 6:
        return (
            "ai",
            "ai:local",
            "ai.decided",
            {
                "run": run,
                "decision": "autosend",
                "reason": "above threshold",
                "threshold": 0.85,
                "rule": {"channel": "chat"},
            },
        )
    return "ai", "ai:local", "message.replied", {"message": i, "kind": "reply", "run": run, "confidence": 0.9}


def main() -> None:
    fresh_database(PGDATA)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from audit.export import verify_export_file, write_workspace_export
    from audit.models import AuditEvent
    from audit.services import Actor, canonical_json, compute_hash
    from helpdesk.services import ticket_create, workspace_create

    call_command("migrate", verbosity=0)
    workspace = workspace_create(name="Bench", slug="bench", actor=Actor.system("bench"))
    ticket = ticket_create(workspace=workspace, channel="chat", customer_email="c@bench.test", subject="s", body="b")
    last = AuditEvent.objects.filter(workspace=workspace).order_by("-seq").values_list("seq", "hash").first()
    assert last is not None
    seq, prev_hash = last
    start = datetime.now(UTC) - timedelta(days=400)

    say(f"inserting {N:,} events (hashes computed in Python, COPY in batches of {BATCH:,})")
    t0 = time.perf_counter()
    hash_s = 0.0
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    done = 0
    while done < N:
        rows = []
        h0 = time.perf_counter()
        for i in range(done, min(N, done + BATCH)):
            seq += 1
            actor_kind, actor, kind, data = event_data(i)
            created_at = start + timedelta(milliseconds=20 * i)
            fields = {
                "workspace": workspace.pk,
                "ticket": ticket.pk,
                "seq": seq,
                "actor_kind": actor_kind,
                "actor": actor,
                "kind": kind,
                "data": data,
                "prev_hash": prev_hash,
                "created_at": created_at.isoformat(),
            }
            prev_hash = compute_hash(fields)
            rows.append(
                (
                    workspace.pk,
                    ticket.pk,
                    seq,
                    actor_kind,
                    actor,
                    kind,
                    canonical_json(data),
                    fields["prev_hash"],
                    prev_hash,
                    created_at,
                )
            )
        hash_s += time.perf_counter() - h0
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY audit_auditevent (workspace_id, ticket_id, seq, actor_kind, actor, kind, data, prev_hash, hash,"
                " created_at) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row(row)
        raw.commit()
        done += len(rows)
        if done % 200_000 == 0 or done == N:
            say(f"  {done:,} events, {time.perf_counter() - t0:.1f} s")
    insert_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")
    total = AuditEvent.objects.filter(workspace=workspace).count()
    say(f"inserted in {insert_s:.1f} s ({hash_s:.1f} s hashing); {total:,} events in the chain")

    rss_before = rss_mb()
    sampler = RssSampler()
    sampler.start()
    t0 = time.perf_counter()
    size = write_workspace_export(workspace=workspace, path=EXPORT)
    export_s = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    export_rate = total / export_s
    say(f"exported {total:,} events ({size / 1e6:.1f} MB) in {export_s:.1f} s: {export_rate:,.0f} events/s")
    say(f"RSS before export {rss_before:.1f} MB, max during export {sampler.max_mb:.1f} MB")

    t0 = time.perf_counter()
    check = verify_export_file(EXPORT)
    verify_s = time.perf_counter() - t0
    say(f"verified the file: ok={check.ok} ({check.result.checked:,} events) in {verify_s:.1f} s")
    if not check.ok:
        raise SystemExit(f"export does not verify: {check.result.problem} at {check.result.seq}")
    EXPORT.unlink()

    print(
        json.dumps(
            {
                "events": total,
                "insert_s": round(insert_s, 1),
                "hash_s": round(hash_s, 1),
                "export_events_per_s": round(export_rate),
                "export_mb": round(size / 1e6, 1),
                "verify_events_per_s": round(check.result.checked / verify_s),
                "rss_before_export_mb": round(rss_before, 1),
                "rss_max_during_export_mb": round(sampler.max_mb, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()

"""Trial on a tau2 retail split (the TEST split by default; `--split train` to develop on):
does the Agent's decision and first tool call match the kind of the gold actions? (No tuning on
the test split: the inputs are built the same way for any split; the retail workspace gets the
tools tau2's policy allows, nothing else.)

Own embedded Postgres under var/bench-trial-pg (wiped at the start). Last line JSON.

Gold kind of a task (its first database-changing action, else):
  return_delivered_order_items -> return_refund; exchange_delivered_order_items and
  modify_pending_order_items -> exchange; cancel_pending_order -> cancel;
  modify_pending_order_address / modify_user_address -> address_change;
  transfer_to_human_agents anywhere -> transfer; only reads (get_order_details ...) -> lookup.
Agent kind: decision escalate -> transfer; else its first write tool (issue_refund ->
return_refund, create_replacement -> exchange, update_shipping_address -> address_change,
cancel_order -> cancel);
else lookup_order -> lookup; else none. A task matches when the two kinds are equal.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.setdefault("OASIS_PGDATA", str(ROOT / "var" / "bench-trial-pg")))
os.environ.setdefault("OASIS_TESTING", "1")
os.environ["OASIS_Q_SYNC"] = "1"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oasis.settings")
sys.path.insert(0, str(ROOT))
NOW = "2026-03-20T12:00:00Z"

GOLD_WRITE = {
    "return_delivered_order_items": "return_refund",
    "exchange_delivered_order_items": "exchange",
    "modify_pending_order_items": "exchange",
    "cancel_pending_order": "cancel",
    "modify_pending_order_address": "address_change",
    "modify_user_address": "address_change",
    "modify_pending_order_payment": "other_change",
}
AGENT_WRITE = {
    "issue_refund": "return_refund",
    "create_replacement": "exchange",
    "update_shipping_address": "address_change",
    "cancel_order": "cancel",
}


def gold_kind(task: dict[str, Any]) -> str:
    names = [a["name"] for a in (task.get("evaluation_criteria") or {}).get("actions") or []]
    if "transfer_to_human_agents" in names:
        return "transfer"
    for name in names:
        if name in GOLD_WRITE:
            return GOLD_WRITE[name]
    return "lookup"


def agent_kind(entry: dict[str, Any]) -> str:
    if entry["decision"] == "escalate":
        return "transfer"
    tools = [a["tool"] for a in entry["actions"]]
    for tool in tools:
        if tool in AGENT_WRITE:
            return AGENT_WRITE[tool]
    return "lookup" if "lookup_order" in tools else "none"


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--split", choices=("train", "test", "base"), default="test")
    split = parser.parse_args().split
    if PGDATA.exists():
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)
        shutil.rmtree(PGDATA)
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command

    from ai.trial.adapters.tau2 import build_retail, data_root, retail_workspace
    from ai.trial.inputs import parse_datetime_text

    try:
        call_command("migrate", verbosity=0)
        files = build_retail(
            out_dir=ROOT / "var" / "trial" / f"tau2-retail-{split}",
            now=parse_datetime_text(NOW, name="now"),
            split=split,
        )
        retail_workspace("tau2-retail")
        out = ROOT / "var" / "trial" / f"tau2-retail-{split}-report.json"
        started = time.monotonic()
        call_command(
            "trial",
            workspace="tau2-retail",
            helpcenter=str(files.helpcenter),
            tickets=str(files.tickets),
            orders=str(files.orders),
            now=NOW,
            out=str(out),
        )
        seconds = time.monotonic() - started
        report = json.loads(out.read_text())
        tasks = {str(t["id"]): t for t in json.loads((data_root() / "tau2" / "retail" / "tasks.json").read_text())}
        rows = []
        for entry in report["tickets"]:
            task = tasks[entry["external_id"].removeprefix("retail-")]
            rows.append((gold_kind(task), agent_kind(entry), entry["decision"]))
        n = len(rows)
        matched = sum(1 for g, a, _ in rows if g == a)
        transfers = [(g, a, d) for g, a, d in rows if g == "transfer"]
        confusion = Counter(f"{g}->{a}" for g, a, _ in rows)
        result = {
            "split": split,
            "tasks": n,
            "kind_match_rate": round(matched / n, 4),
            "transfer_tasks": len(transfers),
            "transfer_escalation_rate": round(sum(1 for *_, d in transfers if d == "escalate") / len(transfers), 4)
            if transfers
            else None,
            "would_autosend_rate": report["summary"]["would_autosend_rate"],
            "decisions": report["summary"]["by_decision"],
            "gold_kinds": dict(Counter(g for g, _, _ in rows)),
            "confusion": dict(confusion.most_common()),
            "seconds": round(seconds, 1),
        }
        print(json.dumps(result))
    finally:
        subprocess.run([sys.executable, "-m", "oasis.embedded_pg", "stop", str(PGDATA)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()

"""Each figure of a report as a table (title, header, rows): the CSV downloads and the charts'
text alternative read the same rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Any]]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def tables(report: dict[str, Any]) -> dict[str, Table]:
    vol, ai, res, drafts = report["volume"], report["ai"], report["resolution"], report["drafts"]
    appr, cost, gaps = report["approvals"], report["cost"], report["knowledge_gaps"]
    return {
        "volume": Table(
            "Ticket volume",
            ["day", "tickets"],
            [[d["day"], d["tickets"]] for d in vol["by_day"]] + [["total", vol["tickets"]]],
        ),
        "ai": Table(
            "AI involvement and resolution",
            ["metric", "value"],
            [
                ["tickets", vol["tickets"]],
                ["agent_runs", ai["runs"]],
                ["tickets_with_runs", ai["tickets_with_runs"]],
                ["involvement_rate", _pct(ai["involvement_rate"])],
                ["runs_per_ticket", _pct(ai["runs_per_ticket"])],
                ["outcomes", res["outcomes"]],
                ["resolution_rate", _pct(res["resolution_rate"])],
                ["durable_outcomes", res["durable"]],
                ["durable_rate", _pct(res["durable_rate"])],
            ],
        ),
        "decisions": Table(
            "AI decisions",
            ["decision", "runs", "share"],
            [[d["decision"], d["runs"], _pct(d["share"])] for d in ai["decisions"]],
        ),
        "handoffs": Table(
            "Handoff reasons",
            ["reason", "tickets", "share", "latest_tickets"],
            [
                [h["reason"], h["tickets"], _pct(h["share"]), " ".join(f"#{t['number']}" for t in h["latest"])]
                for h in report["handoffs"]
            ],
        ),
        "drafts": Table(
            "Draft acceptance",
            ["verdict", "reason", "drafts"],
            [[v["verdict"], "", v["drafts"]] for v in drafts["verdicts"]]
            + [["discarded", r["reason"], r["drafts"]] for r in drafts["discard_reasons"]],
        ),
        "calibration": Table(
            "Confidence calibration (latest map)",
            ["lo", "hi", "mean_confidence", "accuracy", "n"],
            [
                [b.get("lo"), b.get("hi"), b.get("mean_confidence"), b.get("accuracy"), b.get("n")]
                for b in drafts["calibration"]["bins"]
            ],
        ),
        "approvals": Table(
            "Approvals",
            ["metric", "value"],
            [
                ["requests", appr["requests"]],
                ["decided", appr["decided"]],
                ["approved", appr["approved"]],
                ["rejected", appr["rejected"]],
                ["approval_rate", _pct(appr["approval_rate"])],
                ["median_seconds_to_decision", appr["median_seconds"] if appr["median_seconds"] is not None else ""],
                ["p90_seconds_to_decision", appr["p90_seconds"] if appr["p90_seconds"] is not None else ""],
                ["pending_now", len(appr["pending"])],
            ],
        ),
        "pending": Table(
            "Pending approvals (oldest first)",
            ["action", "ticket", "tool", "amount", "requested_at", "waiting_minutes"],
            [
                [
                    p["action"],
                    p["ticket"],
                    p["tool"],
                    p["amount"] if p["amount"] is not None else "",
                    p["requested_at"],
                    p["waiting_minutes"],
                ]
                for p in appr["pending"]
            ],
        ),
        "cost": Table(
            f"Cost ({cost['currency']})",
            ["model", "amount", "basis"],
            [
                ["per_outcome", cost["per_outcome"], f"{cost['outcomes_billed']} outcomes billed"],
                ["per_seat", cost["per_seat"], f"{cost['seats']} seats"],
                ["per_attempt", cost["per_attempt"], f"{cost['attempts']} attempts"],
                ["cost_per_resolved_ticket", cost["cost_per_resolved_ticket"] or "", ""],
                ["hours_saved", cost["hours_saved"], f"{cost['minutes_per_ticket']} min per resolved ticket"],
            ],
        ),
        "knowledge_gaps": Table(
            "Knowledge gaps",
            ["cluster", "questions", "title", "tickets"],
            [
                [i, c["questions"], c["title"], " ".join(f"#{t['number']}" for t in c["tickets"])]
                for i, c in enumerate(gaps["clusters"], start=1)
            ],
        ),
    }


def _safe(value: Any) -> Any:
    # A cell starting with = + - @ is a formula in spreadsheets: customers' words must stay text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows([[_safe(v) for v in row] for row in table.rows])
    return out.getvalue()


def all_csv(report: dict[str, Any]) -> str:
    """Every figure in one file: a title line, the header, the rows, a blank line between."""
    out = io.StringIO()
    writer = csv.writer(out)
    for name, table in tables(report).items():
        writer.writerow([f"# {name}: {table.title}"])
        writer.writerow(table.header)
        writer.writerows([[_safe(v) for v in row] for row in table.rows])
        writer.writerow([])
    return out.getvalue()

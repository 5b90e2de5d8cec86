"""The daily rollup of the manager reports: additive figures per (workspace, UTC day, channel,
ticket type), so a 30-day report sums ~30 x 32 rows instead of scanning ~80,000 per table.

Exactness does not depend on the schedule. The report reads a day from the rollup only when
1. the day lies in [rolled_from, rolled_until) of the workspace's ReportRollupState, and
2. no ReportDirtyDay mark exists for it: database triggers (migration 0011) mark a past day as
   soon as one of its source rows changes (a late run on an old ticket, a reopen that ends an
   outcome's durability, a credit, a type change...);
every other day (today, days not rolled up yet, dirty days) is read from the live tables with
the same definitions. `report_rollup_catch_up` (every 10 minutes) rolls up the days that have
closed and recomputes the dirty ones, which only keeps the live share small.

Definitions shared with ai.reports.queries: days are UTC; tickets by creation, Agent runs by
start, outcomes by resolution, draft verdicts by when they were given (within 30 days of their
run); channel and type are the ticket's current ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from ai.models import ReportDay, ReportDayCount, ReportDirtyDay, ReportRollupState
from helpdesk.models import Ticket

# A day is rolled up only once it has been over for this long: a transaction that wrote to it
# just before midnight (unmarked, since it was "today" then) has committed by then.
GRACE = timedelta(hours=1)
DURABLE_DAYS = 7
FEEDBACK_LAG_DAYS = 30
RESOLVED = ("confirmed", "billed", "credited")
CHARGED = ("confirmed", "billed")
DECISIONS = ("autosend", "draft", "escalate", "awaiting_approval")
VERDICTS = ("sent_unchanged", "edited", "discarded")
HANDOFF = "handoff"
DISCARD = "discard"
DAY_SUMS = (
    "tickets",
    "tickets_with_runs",
    "runs",
    *DECISIONS,
    "outcomes",
    "durable",
    "charged",
    "cost",
    *VERDICTS,
)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Contiguous runs of days, as inclusive (first, last) pairs."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


# ------------------------------------------------------------------ handoff categories in SQL


def handoff_case_sql(column: str) -> tuple[str, list[str]]:
    """The handoff category of an AI reason as a SQL CASE (LIKE on the lower-cased reason, first
    match wins), the same rules as queries.handoff_category, so the rollup and the live query
    group tickets identically."""
    from ai.reports.queries import HANDOFF_CATEGORIES, OTHER

    whens, params = [], []
    for key, _label, patterns, _decision in HANDOFF_CATEGORIES:
        whens.append("WHEN " + " OR ".join(f"lower({column}) LIKE %s" for _ in patterns) + " THEN %s")
        params += [*patterns, key]
    return "CASE " + " ".join(whens) + " ELSE %s END", [*params, OTHER[0]]


# -------------------------------------------------------------------------------- refresh

DAY_KEY = "(workspace_id, day, channel, ticket_type)"


def _upsert(columns: list[str]) -> str:
    return f" ON CONFLICT {DAY_KEY} DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns)


TICKETS_SQL = """
INSERT INTO ai_reportday (workspace_id, day, channel, ticket_type, tickets, tickets_with_runs)
SELECT t.workspace_id, (t.created_at AT TIME ZONE 'UTC')::date, t.channel, t.ticket_type, count(*),
    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ai_agentrun r WHERE r.ticket_id = t.id AND r.kind = 'agent'))
FROM helpdesk_ticket t
WHERE t.workspace_id = %s AND t.created_at >= %s AND t.created_at < %s
GROUP BY 1, 2, 3, 4""" + _upsert(["tickets", "tickets_with_runs"])  # noqa: S608 (constants only)

RUNS_SQL = """
INSERT INTO ai_reportday (workspace_id, day, channel, ticket_type, runs, autosend, draft, escalate, awaiting_approval)
SELECT r.workspace_id, (r.created_at AT TIME ZONE 'UTC')::date, t.channel, t.ticket_type, count(*),
    count(*) FILTER (WHERE r.decision = 'autosend'), count(*) FILTER (WHERE r.decision = 'draft'),
    count(*) FILTER (WHERE r.decision = 'escalate'), count(*) FILTER (WHERE r.decision = 'awaiting_approval')
FROM ai_agentrun r JOIN helpdesk_ticket t ON t.id = r.ticket_id
WHERE r.workspace_id = %s AND r.kind = 'agent' AND r.created_at >= %s AND r.created_at < %s
GROUP BY 1, 2, 3, 4""" + _upsert(["runs", *DECISIONS])

OUTCOMES_SQL = """
INSERT INTO ai_reportday (workspace_id, day, channel, ticket_type, outcomes, durable, charged, cost)
SELECT o.workspace_id, (o.resolved_at AT TIME ZONE 'UTC')::date, t.channel, t.ticket_type, count(*),
    count(*) FILTER (WHERE o.status IN ('confirmed', 'billed') AND NOT EXISTS (
        SELECT 1 FROM audit_auditevent a WHERE a.ticket_id = o.ticket_id AND a.kind = 'ticket.reopened'
            AND a.created_at >= o.resolved_at AND a.created_at < o.resolved_at + %s * interval '1 day')),
    count(*) FILTER (WHERE o.status IN ('confirmed', 'billed')),
    coalesce(sum(o.price) FILTER (WHERE o.status IN ('confirmed', 'billed')), 0)
FROM billing_outcome o JOIN helpdesk_ticket t ON t.id = o.ticket_id
WHERE o.workspace_id = %s AND o.resolved_at >= %s AND o.resolved_at < %s
    AND o.status IN ('confirmed', 'billed', 'credited')
GROUP BY 1, 2, 3, 4""" + _upsert(["outcomes", "durable", "charged", "cost"])  # noqa: S608 (constants only)

FEEDBACK_FROM = """
FROM ai_draftfeedback f JOIN ai_agentrun r ON r.id = f.run_id JOIN helpdesk_ticket t ON t.id = r.ticket_id
WHERE r.workspace_id = %s AND f.created_at >= %s AND f.created_at < %s
    AND r.created_at >= f.created_at - %s * interval '1 day'"""

VERDICTS_SQL = (
    """
INSERT INTO ai_reportday (workspace_id, day, channel, ticket_type, sent_unchanged, edited, discarded)
SELECT r.workspace_id, (f.created_at AT TIME ZONE 'UTC')::date, t.channel, t.ticket_type,
    count(*) FILTER (WHERE f.verdict = 'sent_unchanged'), count(*) FILTER (WHERE f.verdict = 'edited'),
    count(*) FILTER (WHERE f.verdict = 'discarded')"""
    + FEEDBACK_FROM
    + """ AND f.verdict IN ('sent_unchanged', 'edited', 'discarded')
GROUP BY 1, 2, 3, 4"""
    + _upsert(list(VERDICTS))
)

DISCARDS_SQL = (
    """
INSERT INTO ai_reportdaycount (workspace_id, day, channel, ticket_type, metric, key, n)
SELECT r.workspace_id, (f.created_at AT TIME ZONE 'UTC')::date, t.channel, t.ticket_type, 'discard', f.reason,
    count(*)"""
    + FEEDBACK_FROM
    + """ AND f.verdict = 'discarded'
GROUP BY 1, 2, 3, 4, 6"""
)

HANDOFFS_SQL = """
INSERT INTO ai_reportdaycount (workspace_id, day, channel, ticket_type, metric, key, n)
SELECT t.workspace_id, (t.created_at AT TIME ZONE 'UTC')::date, t.channel, t.ticket_type, 'handoff', {case}, count(*)
FROM helpdesk_ticket t
WHERE t.workspace_id = %s AND t.created_at >= %s AND t.created_at < %s
    AND t.ai_decision IN ('escalate', 'draft') AND t.ai_reason <> ''
GROUP BY 1, 2, 3, 4, 6"""


def _lock(cursor: Any, workspace_id: int) -> None:
    # One refresh per workspace at a time: two schedules overlapping would otherwise interleave
    # their deletes and inserts.
    cursor.execute("SELECT pg_advisory_xact_lock(hashtext('ai.report_rollup'), %s)", [workspace_id])


def report_rollup_refresh(*, workspace_id: int, first_day: date, last_day: date) -> int:
    """Recompute the rollup rows of one workspace for the days [first_day, last_day] (UTC):
    delete them, then one INSERT ... SELECT ... GROUP BY per source (upserting its columns of
    the day rows), in one transaction. Idempotent; other days and workspaces are untouched.
    Returns the number of day rows written."""
    if last_day < first_day:
        return 0
    start, end = day_start(first_day), day_start(last_day + timedelta(days=1))
    ws_range: list[Any] = [workspace_id, start, end]
    case, case_params = handoff_case_sql("t.ai_reason")
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor, workspace_id)
        for table in ("ai_reportday", "ai_reportdaycount"):
            cursor.execute(
                f"DELETE FROM {table} WHERE workspace_id = %s AND day >= %s AND day <= %s",  # noqa: S608
                [workspace_id, first_day, last_day],
            )
        cursor.execute(TICKETS_SQL, ws_range)
        cursor.execute(RUNS_SQL, ws_range)
        cursor.execute(OUTCOMES_SQL, [DURABLE_DAYS, *ws_range])
        cursor.execute(VERDICTS_SQL, [*ws_range, FEEDBACK_LAG_DAYS])
        cursor.execute(DISCARDS_SQL, [*ws_range, FEEDBACK_LAG_DAYS])
        cursor.execute(HANDOFFS_SQL.format(case=case), [*case_params, *ws_range])
        cursor.execute(
            "SELECT count(*) FROM ai_reportday WHERE workspace_id = %s AND day >= %s AND day <= %s",
            [workspace_id, first_day, last_day],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class CatchUp:
    workspace_id: int
    refreshed: list[tuple[date, date]]
    rolled_from: date | None
    rolled_until: date | None
    marks_cleared: int


def report_rollup_catch_up(*, workspace_id: int, now: datetime | None = None, recheck_days: int = 0) -> CatchUp:
    """Bring one workspace's rollup up to date: roll up the days that closed since the last run
    (the first run backfills from the workspace's first ticket), recompute the days marked
    dirty, and, with recheck_days, the last N closed days whatever the marks say.

    The dirty marks are read before recomputing and only those are deleted after: a change
    committed during the refresh adds a mark the refresh did not see, so its day stays dirty
    (read live) until the next catch-up."""
    now = now or timezone.now()
    closed_until = utc_day(now - GRACE)  # days before this one are over (and past the grace)
    with transaction.atomic(), connection.cursor() as cursor:
        _lock(cursor, workspace_id)
        state = ReportRollupState.objects.filter(workspace_id=workspace_id).first()
        marks = list(ReportDirtyDay.objects.filter(workspace_id=workspace_id).values_list("id", "day"))
        if state is None:
            first = Ticket.objects.filter(workspace_id=workspace_id).order_by("created_at").values("created_at").first()
            rolled_from = min(utc_day(first["created_at"]), closed_until) if first else closed_until
            rolled_until = rolled_from
        else:
            rolled_from, rolled_until = state.rolled_from, state.rolled_until
        days = {rolled_until + timedelta(days=i) for i in range((closed_until - rolled_until).days)}
        days |= {day for _id, day in marks if rolled_from <= day < rolled_until}
        recheck_from = max(rolled_from, closed_until - timedelta(days=recheck_days))
        days |= {recheck_from + timedelta(days=i) for i in range((min(rolled_until, closed_until) - recheck_from).days)}
        ranges = day_ranges(days)
        for first_day, last_day in ranges:
            report_rollup_refresh(workspace_id=workspace_id, first_day=first_day, last_day=last_day)
        # Marks of days not closed yet stay: those days are rolled up (and cleared) once closed.
        seen = [mark_id for mark_id, day in marks if day < closed_until]
        cleared, _ = ReportDirtyDay.objects.filter(pk__in=seen).delete() if seen else (0, {})
        new_until = max(rolled_until, closed_until)
        ReportRollupState.objects.update_or_create(
            workspace_id=workspace_id,
            defaults={"rolled_from": rolled_from, "rolled_until": new_until, "refreshed_at": now},
        )
    return CatchUp(workspace_id, ranges, rolled_from, new_until, cleared)


# ------------------------------------------------------------------------- reading it


@dataclass(frozen=True)
class Split:
    """Which part of a period the report reads from the rollup (whole clean days) and which
    from the live tables (everything else, as half-open datetime ranges)."""

    rolled: tuple[date, ...]
    live: tuple[tuple[datetime, datetime], ...]

    def q(self, column: str) -> Q:
        """The live ranges as a filter on a datetime column (an OR of index ranges)."""
        q = Q()
        for start, end in self.live:
            q |= Q(**{f"{column}__gte": start, f"{column}__lt": end})
        return q

    @property
    def live_start(self) -> datetime | None:
        return self.live[0][0] if self.live else None

    @property
    def live_end(self) -> datetime | None:
        return self.live[-1][1] if self.live else None


def split_period(*, workspace_id: int, start: datetime, end: datetime, use_rollup: bool = True) -> Split:
    """Split [start, end) into rolled-up clean days and live ranges (two small queries)."""
    first_whole = utc_day(start) if day_start(utc_day(start)) >= start else utc_day(start) + timedelta(days=1)
    candidates: list[date] = []
    if use_rollup:
        state = (
            ReportRollupState.objects.filter(workspace_id=workspace_id).values("rolled_from", "rolled_until").first()
        )
        if state is not None:
            lo = max(first_whole, state["rolled_from"])
            hi = min(utc_day(end), state["rolled_until"])  # exclusive: a partial last day is live
            candidates = [lo + timedelta(days=i) for i in range(max(0, (hi - lo).days))]
    if candidates:
        dirty = set(
            ReportDirtyDay.objects.filter(
                workspace_id=workspace_id, day__gte=candidates[0], day__lte=candidates[-1]
            ).values_list("day", flat=True)
        )
        candidates = [d for d in candidates if d not in dirty]
    live: list[tuple[datetime, datetime]] = []
    cursor = start
    for first, last in day_ranges(candidates):
        if day_start(first) > cursor:
            live.append((cursor, day_start(first)))
        cursor = day_start(last + timedelta(days=1))
    if cursor < end:
        live.append((cursor, end))
    return Split(rolled=tuple(candidates), live=tuple(live))


@dataclass
class Rolled:
    """The rollup's sums over the rolled days of a period, for a channel and type filter."""

    tickets_by_day: dict[date, int] = field(default_factory=dict)
    sums: dict[str, Any] = field(default_factory=dict)
    handoffs: dict[str, int] = field(default_factory=dict)
    discards: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return int(self.sums.get(name) or 0)

    @property
    def cost(self) -> Decimal:
        return Decimal(self.sums.get("cost") or 0)


def rolled_sums(*, workspace_id: int, days: tuple[date, ...], channel: str = "", ticket_type: str = "") -> Rolled:
    """Sum the rollup over the given days: per day (for volume), in total, and per key."""
    rolled = Rolled(sums=dict.fromkeys(DAY_SUMS, 0))
    if not days:
        return rolled
    dims = Q(workspace_id=workspace_id, day__gte=days[0], day__lte=days[-1])
    if len(days) != (days[-1] - days[0]).days + 1:
        dims &= Q(day__in=days)
    if channel:
        dims &= Q(channel=channel)
    if ticket_type:
        dims &= Q(ticket_type=ticket_type)
    sums = {f"sum_{k}": Sum(k) for k in DAY_SUMS}
    for row in ReportDay.objects.filter(dims).values("day").annotate(**sums).order_by():
        rolled.tickets_by_day[row["day"]] = row["sum_tickets"]
        for key in DAY_SUMS:
            rolled.sums[key] += row[f"sum_{key}"]
    for row in ReportDayCount.objects.filter(dims).values("metric", "key").annotate(n=Sum("n")).order_by():
        target = rolled.handoffs if row["metric"] == HANDOFF else rolled.discards
        target[row["key"]] = target.get(row["key"], 0) + row["n"]
    return rolled

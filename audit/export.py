"""Exporting the audit chain so an auditor can verify it offline, and retention that archives first.

Two formats, both carrying every hashed field plus `hash`:

- a workspace range as JSON Lines: a header line (workspace, the chain's `start_seq` and
  `start_prev_hash`), one line per event in seq order, and a footer line (count and last
  hash, so a truncated file is detected). Streamed from a server-side cursor: constant memory.
- one ticket's trail as a JSON document: its events are a subset of the workspace chain, so
  each event's hash is checked on its own and links are checked where seqs are adjacent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.anchor import anchor_checkpoint, anchoring_configured
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import (
    CHAIN_LOCK,
    Actor,
    VerifyResult,
    audit_record,
    chain_start,
    compute_hash,
    verify_chain,
)

if TYPE_CHECKING:
    from helpdesk.models import Ticket, Workspace

logger = logging.getLogger(__name__)

JSONL_FORMAT = "oasis-audit-jsonl/1"
TICKET_FORMAT = "oasis-audit-ticket/1"
HASHED_FIELDS = ("workspace", "ticket", "seq", "actor_kind", "actor", "kind", "data", "prev_hash", "created_at")
HOW_TO_VERIFY = (
    "hash = sha256 of the JSON of the hashed_fields (keys sorted, separators ',' and ':', "
    "non-ASCII escaped); each event's prev_hash is the previous event's hash; the first event's "
    "prev_hash is start_prev_hash and its seq is start_seq."
)
# Rows per chunk of the server-side cursor, and per write/yield of the stream.
CHUNK = 2000
# Postgres formats each line (the billing export's lesson: formatting in SQL is several times
# faster than parsing jsonb and timestamps into Python objects only to print them again).
# `created_at` is spelled exactly as Python's `datetime.isoformat()` of a UTC datetime, which
# is what the hash covers: microseconds omitted when zero, "+00:00" offset.
_T = '"audit_auditevent"'
_LINE_SQL = f"""json_build_object(
    'seq', {_T}."seq", 'workspace', {_T}."workspace_id", 'ticket', {_T}."ticket_id",
    'actor_kind', {_T}."actor_kind", 'actor', {_T}."actor", 'kind', {_T}."kind", 'data', {_T}."data",
    'created_at', to_char({_T}."created_at" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_part('microseconds', {_T}."created_at")::bigint %% 1000000 = 0 THEN ''
                ELSE to_char({_T}."created_at" AT TIME ZONE 'UTC', '.US') END
        || '+00:00',
    'prev_hash', {_T}."prev_hash", 'hash', {_T}."hash")::text"""


def event_record(event: AuditEvent) -> dict[str, Any]:
    """One event as exported: every hashed field plus its hash."""
    return {**event.hashed_fields(), "hash": event.hash}


# ------------------------------------------------------------------------- bounds of a range


def parse_bound(value: str | None, *, end: bool = False) -> datetime | None:
    """A date (`2026-01-31`) or an ISO datetime; a date as `until` means the end of that day."""
    if not value:
        return None
    try:
        # parse_* return None for a bad shape but raise ValueError for an impossible value (Feb 30).
        parsed = parse_datetime(value)
        day = parse_date(value) if parsed is None else None
    except ValueError:
        parsed = day = None
    if parsed is None:
        if day is None:
            raise ValidationError(f"Not a date or datetime: {value!r}.")
        parsed = datetime.combine(day + timedelta(days=1) if end else day, time.min)
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@dataclass(frozen=True)
class Range:
    """A contiguous seq range of one workspace's chain, and the hash it starts from."""

    first_seq: int | None
    last_seq: int | None
    start_prev_hash: str | None

    @property
    def empty(self) -> bool:
        return self.first_seq is None or self.last_seq is None or self.first_seq > self.last_seq


def seq_range(*, workspace_id: int, since: datetime | None, until: datetime | None) -> Range:
    """Map a time range to a seq range, so the exported rows are contiguous and verifiable."""
    events = AuditEvent.objects.filter(workspace_id=workspace_id)
    start_seq, start_prev_hash = chain_start(workspace_id)
    first = start_seq
    if since is not None:
        first_in = events.filter(created_at__gte=since).order_by("seq").values_list("seq", flat=True).first()
        if first_in is None:
            return Range(None, None, None)
        first = max(first, first_in)
    if until is not None:
        last = events.filter(created_at__lt=until).order_by("-seq").values_list("seq", flat=True).first()
    else:
        last = events.order_by("-seq").values_list("seq", flat=True).first()
    if last is None or last < first:
        return Range(None, None, None)
    if first != start_seq:
        # Trust the predecessor's stored hash, not the first row's own claim about it.
        prev = events.filter(seq=first - 1).values_list("hash", flat=True).first()
        start_prev_hash = prev or events.filter(seq=first).values_list("prev_hash", flat=True).get()
    return Range(first, last, start_prev_hash)


# ------------------------------------------------------------------------------ JSON Lines


def export_header(*, workspace: Workspace, span: Range, since: datetime | None, until: datetime | None) -> str:
    return json.dumps(
        {
            "export": JSONL_FORMAT,
            "workspace": workspace.pk,
            "workspace_slug": workspace.slug,
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
            "start_seq": span.first_seq,
            "start_prev_hash": span.start_prev_hash,
            "exported_at": timezone.now().isoformat(),
            "hashed_fields": list(HASHED_FIELDS),
            "how_to_verify": HOW_TO_VERIFY,
        },
        ensure_ascii=False,
    )


def workspace_export_lines(
    *,
    workspace: Workspace,
    since: datetime | None = None,
    until: datetime | None = None,
    span: Range | None = None,
) -> Iterator[str]:
    """The JSON Lines export of a workspace's events in [since, until), in chunks of lines.

    Yields strings of many lines each (fewer, larger writes); memory stays flat because rows
    come from a server-side cursor `CHUNK` at a time.
    """
    if span is None:
        span = seq_range(workspace_id=workspace.pk, since=since, until=until)
    yield export_header(workspace=workspace, span=span, since=since, until=until) + "\n"
    count = 0
    last_seq: int | None = None
    last_hash: str | None = None
    if not span.empty:
        rows = (
            AuditEvent.objects.filter(workspace_id=workspace.pk, seq__gte=span.first_seq, seq__lte=span.last_seq)
            .order_by("seq")
            .annotate(line=RawSQL(_LINE_SQL, ()))  # noqa: S611 - a constant, no input in it
            .values_list("line", "seq", "hash")
            .iterator(chunk_size=CHUNK)
        )
        batch: list[str] = []
        for row in rows:
            batch.append(row[0])
            if len(batch) >= CHUNK:
                yield "\n".join(batch) + "\n"
                batch = []
            count += 1
            last_seq, last_hash = row[1], row[2]
        if batch:
            yield "\n".join(batch) + "\n"
    yield json.dumps({"export_end": {"count": count, "last_seq": last_seq, "last_hash": last_hash}}) + "\n"


def write_workspace_export(
    *,
    workspace: Workspace,
    path: Path,
    since: datetime | None = None,
    until: datetime | None = None,
    span: Range | None = None,
) -> int:
    """Write the export to `path` atomically (a temp file renamed once synced); returns bytes written."""
    tmp = path.with_name(path.name + ".partial")
    size = 0
    with tmp.open("w", encoding="utf-8") as out:
        for chunk in workspace_export_lines(workspace=workspace, since=since, until=until, span=span):
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(path)
    return size


@dataclass(frozen=True)
class FileVerifyResult:
    result: VerifyResult
    header: dict[str, Any]
    footer: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.result.ok


def _export_rows(lines: Iterable[str], footer: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        if "export_end" in row:
            footer.update(row["export_end"])
            footer["_seen"] = True
            return
        yield row


def verify_export_lines(lines: Iterable[str]) -> FileVerifyResult:
    """Verify a JSON Lines export: the chain from the header's start, and the footer's totals."""
    iterator = iter(lines)
    try:
        header = json.loads(next(iterator))
    except (StopIteration, json.JSONDecodeError):
        return FileVerifyResult(VerifyResult(False, 0, "not an audit export: no header line"), {}, None)
    if header.get("export") != JSONL_FORMAT:
        return FileVerifyResult(VerifyResult(False, 0, "not an audit export: unknown header"), header, None)
    footer: dict[str, Any] = {}
    last: dict[str, Any] = {}

    def tracked() -> Iterator[dict[str, Any]]:
        for row in _export_rows(iterator, footer):
            if row.get("workspace") != header["workspace"]:
                raise _Foreign(int(row.get("seq", 0)))
            last["seq"], last["hash"] = row.get("seq"), row.get("hash")
            yield row

    try:
        result = verify_chain(
            tracked(), start_prev_hash=header.get("start_prev_hash"), start_seq=header.get("start_seq")
        )
    except _Foreign as foreign:
        return FileVerifyResult(VerifyResult(False, 0, "event of another workspace", foreign.seq), header, None)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        return FileVerifyResult(VerifyResult(False, 0, f"unreadable event line: {exc}"), header, None)
    if not result.ok:
        return FileVerifyResult(result, header, footer or None)
    if not footer.get("_seen"):
        return FileVerifyResult(
            VerifyResult(False, result.checked, "no footer line: the file is truncated"), header, None
        )
    footer.pop("_seen")
    if footer.get("count") != result.checked or footer.get("last_hash") != last.get("hash"):
        problem = (
            f"footer says {footer.get('count')} events ending {footer.get('last_hash')}, file has {result.checked}"
        )
        return FileVerifyResult(VerifyResult(False, result.checked, problem, last.get("seq")), header, footer)
    return FileVerifyResult(result, header, footer)


class _Foreign(Exception):
    def __init__(self, seq: int) -> None:
        super().__init__(seq)
        self.seq = seq


def verify_export_file(path: Path) -> FileVerifyResult:
    """Verify an export file: JSON Lines (a workspace range) or JSON (one ticket's trail)."""
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
        try:
            head = json.loads(first)
        except json.JSONDecodeError:
            head = None
        if isinstance(head, dict) and head.get("export") == JSONL_FORMAT:
            handle.seek(0)
            return verify_export_lines(handle)
        handle.seek(0)
        try:
            document = json.load(handle)
        except json.JSONDecodeError:
            return FileVerifyResult(VerifyResult(False, 0, "not an audit export: unreadable JSON"), {}, None)
    return verify_ticket_export(document)


# -------------------------------------------------------------------------- one ticket's trail


def ticket_export(ticket: Ticket) -> dict[str, Any]:
    """A ticket's whole trail with the hashes, and the workspace chain's head at export time."""
    events = [event_record(e) for e in AuditEvent.objects.for_ticket(ticket.pk).order_by("seq")]
    head = AuditEvent.objects.filter(workspace_id=ticket.workspace_id).order_by("-seq").values("seq", "hash").first()
    return {
        "export": {
            "format": TICKET_FORMAT,
            "workspace": ticket.workspace_id,
            "ticket": ticket.pk,
            "ticket_number": ticket.number,
            "exported_at": timezone.now().isoformat(),
            "chain_head": head,
            "hashed_fields": list(HASHED_FIELDS),
            "how_to_verify": HOW_TO_VERIFY
            + " A ticket's events are a subset of its workspace's chain: each hash is checked on its"
            " own, and links where seqs are adjacent; the workspace export checks every link.",
        },
        "events": events,
    }


def verify_ticket_export(document: dict[str, Any]) -> FileVerifyResult:
    header = document.get("export") if isinstance(document, dict) else None
    if not isinstance(header, dict) or header.get("format") != TICKET_FORMAT:
        return FileVerifyResult(VerifyResult(False, 0, "not an audit export: unknown format"), {}, None)
    checked = 0
    previous: dict[str, Any] | None = None
    for row in document.get("events", []):
        seq = int(row["seq"])
        if row.get("ticket") != header["ticket"] or row.get("workspace") != header["workspace"]:
            return FileVerifyResult(VerifyResult(False, checked, "event of another ticket", seq), header, None)
        if previous is not None and seq <= previous["seq"]:
            return FileVerifyResult(VerifyResult(False, checked, "events out of order", seq), header, None)
        if previous is not None and seq == previous["seq"] + 1 and row["prev_hash"] != previous["hash"]:
            problem = "prev_hash does not match the previous row"
            return FileVerifyResult(VerifyResult(False, checked, problem, seq), header, None)
        if compute_hash({key: row[key] for key in HASHED_FIELDS}) != row["hash"]:
            problem = "content does not match its hash (edited)"
            return FileVerifyResult(VerifyResult(False, checked, problem, seq), header, None)
        previous = row
        checked += 1
    return FileVerifyResult(VerifyResult(True, checked), header, None)


# ---------------------------------------------------------------------------------- retention


def retention_days() -> int | None:
    """Days of audit events kept in the database; None (the default) keeps them forever."""
    raw = getattr(settings, "OASIS_AUDIT_RETENTION_DAYS", None) or os.environ.get("OASIS_AUDIT_RETENTION_DAYS", "")
    if raw in ("", None):
        return None
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"OASIS_AUDIT_RETENTION_DAYS must be a whole number of days, not {raw!r}") from None
    if days < 1:
        raise ImproperlyConfigured("OASIS_AUDIT_RETENTION_DAYS must be at least 1 (unset keeps events forever)")
    return days


@dataclass(frozen=True)
class PruneResult:
    pruned: int
    checkpoint: AuditCheckpoint | None
    archive: Path | None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def audit_prune(*, workspace: Workspace, before: datetime, archive: Path, actor: Actor) -> PruneResult:
    """Archive, then delete, the workspace's events older than `before`, keeping the chain verifiable.

    In one transaction holding the chain's writer lock: export the prefix to `archive`, verify
    the file (a tampered chain is never pruned: the failure is raised and nothing is deleted),
    delete the prefix with the trigger's controlled bypass, and record a checkpoint holding the
    last pruned hash, from which `audit_verify` resumes; the checkpoint is anchored outside the
    database too (audit.anchor).
    """
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            # The same lock as audit_record: no event is appended while the prefix moves.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHAIN_LOCK, workspace.pk])
        start_seq, start_prev_hash = chain_start(workspace.pk)
        first_kept = (
            AuditEvent.objects.filter(workspace_id=workspace.pk, created_at__gte=before)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        if first_kept is None:
            last_pruned = AuditEvent.objects.filter(workspace_id=workspace.pk).order_by("-seq").values_list(
                "seq", flat=True
            ).first() or (start_seq - 1)
        else:
            last_pruned = first_kept - 1
        if last_pruned < start_seq:
            return PruneResult(0, None, None)
        span = Range(start_seq, last_pruned, start_prev_hash)
        write_workspace_export(workspace=workspace, path=archive, until=before, span=span)
        check = verify_export_file(archive)
        expected = last_pruned - start_seq + 1
        if not check.ok:
            raise ValidationError(
                f"Refusing to prune: the archive does not verify ({check.result.problem} at seq {check.result.seq})."
            )
        if check.result.checked != expected or check.footer is None or check.footer.get("last_seq") != last_pruned:
            raise ValidationError(
                f"Refusing to prune: the archive holds {check.result.checked} events, not {expected}."
            )
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('oasis.audit_prune', 'on', true)")
            cursor.execute(
                "DELETE FROM audit_auditevent WHERE workspace_id = %s AND seq <= %s", [workspace.pk, last_pruned]
            )
            deleted = cursor.rowcount
            # Back to refusing deletes for the rest of the transaction.
            cursor.execute("SELECT set_config('oasis.audit_prune', 'off', true)")
        if deleted != expected:
            raise ValidationError(f"Refusing to prune: {deleted} rows matched, expected {expected}.")
        checkpoint = AuditCheckpoint.objects.create(
            workspace=workspace,
            seq=last_pruned,
            hash=check.footer["last_hash"],
            pruned=deleted,
            archived_to=str(archive),
            created_at=timezone.now(),
        )
        if anchoring_configured():
            # Outside the database, so a checkpoint forged later is told from this one.
            anchor_checkpoint(checkpoint, workspace_slug=workspace.slug)
        else:
            logger.warning("audit_prune: OASIS_AUDIT_ANCHOR_KEY is not set, the checkpoint is not anchored")
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="audit.pruned",
            data={
                "before": before.isoformat(),
                "from_seq": start_seq,
                "through_seq": last_pruned,
                "count": deleted,
                "checkpoint_hash": checkpoint.hash,
                "archived_to": str(archive),
                "archive_sha256": _sha256_file(archive),
            },
        )
    return PruneResult(deleted, checkpoint, archive)


def prune_cutoff(*, before: date | datetime | None) -> datetime | None:
    """The explicit `before`, else now minus the configured retention, else None (keep forever)."""
    if isinstance(before, datetime):
        return before
    if isinstance(before, date):
        return timezone.make_aware(datetime.combine(before, time.min))
    days = retention_days()
    return None if days is None else timezone.now() - timedelta(days=days)

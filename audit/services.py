"""Writing and verifying the hash-chained audit log. Every service that changes state calls
`audit_record` inside its own transaction, so the event commits or rolls back with the change."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from audit.models import ActorKind, AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from helpdesk.models import Customer, Ticket, Workspace

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who performed a state change: recorded on the audit row as kind + label."""

    kind: str
    label: str
    user_id: int | None = None

    @classmethod
    def for_user(cls, user: AbstractBaseUser | AnonymousUser) -> Actor:
        return cls(ActorKind.USER, getattr(user, "email", "") or str(user), user.pk)

    @classmethod
    def for_customer(cls, customer: Customer) -> Actor:
        return cls(ActorKind.CUSTOMER, customer.email)

    @classmethod
    def ai(cls, model: str) -> Actor:
        return cls(ActorKind.AI, f"ai:{model}")

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, label)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)


def compute_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


_WORKSPACE_TABLE = AuditEvent._meta.get_field("workspace").related_model._meta.db_table  # type: ignore[union-attr]
_TICKET_TABLE = AuditEvent._meta.get_field("ticket").related_model._meta.db_table  # type: ignore[union-attr]
# The chain lock, then the chain's end: two statements sent together (one round trip). The
# read must be its own statement: a statement's snapshot is taken before it waits for a lock,
# so a read in the locking statement could miss the previous holder's rows.
# The rows' foreign keys are checked (FOR KEY SHARE) at commit, while the chain lock is held:
# if another transaction held the workspace or a ticket row FOR UPDATE and waited for the
# chain lock, that would deadlock. So the key-share locks come first, in the locking statement
# (its sub-selects lock before the outer select takes the chain lock).
_LOCK_SQL = (
    "SELECT pg_advisory_xact_lock(%s, %s) "  # noqa: S608 (table names from the models)
    f"FROM (SELECT 1 FROM {_WORKSPACE_TABLE} WHERE id = %s FOR KEY SHARE) w "
    f"LEFT JOIN (SELECT count(*) FROM (SELECT 1 FROM {_TICKET_TABLE} WHERE id = ANY(%s) ORDER BY id "
    "FOR KEY SHARE) k) t ON TRUE; "
    f"SELECT seq, hash, created_at FROM {AuditEvent._meta.db_table} WHERE workspace_id = %s ORDER BY seq DESC LIMIT 1"
)
CHAIN_LOCK = 0x0A5
_CHECKPOINT_SQL = (
    f"SELECT seq, hash, created_at FROM {AuditCheckpoint._meta.db_table} "  # noqa: S608 (table name from the model)
    "WHERE workspace_id = %s ORDER BY seq DESC LIMIT 1"
)


def audit_record(
    *,
    workspace: Workspace,
    actor: Actor,
    kind: str,
    data: dict[str, Any] | None = None,
    ticket: Ticket | None = None,
) -> AuditEvent:
    """Append one event to the workspace's chain. Must run inside the caller's transaction.

    The event is written just before that transaction commits (with every other event it
    recorded, see `_append`), so it commits or rolls back with the change; `seq`, `hash` and
    `pk` are set then. Reading audit events in the same transaction writes them first.
    """
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit_record must run inside the state change's transaction")
    # Round-trip through JSON so the hashed value is exactly what jsonb stores and returns.
    clean_data = json.loads(canonical_json(data or {}))
    event = AuditEvent(
        workspace=workspace,
        ticket=ticket,
        actor_kind=actor.kind,
        actor=actor.label,
        kind=kind,
        data=clean_data,
        created_at=timezone.now(),
    )
    conn.before_commit(_append, event)
    return event


def _append(events: list[AuditEvent]) -> None:
    """Chain and insert one transaction's events, per workspace: lock, read the end, one INSERT.

    Called right before COMMIT, so each workspace's chain lock is held only from here to the
    end of the commit. Workspaces in id order, so two transactions never wait on each other's.
    """
    by_workspace: dict[int, list[AuditEvent]] = {}
    for event in events:
        by_workspace.setdefault(event.workspace_id, []).append(event)
    with connection.cursor() as cursor:
        for workspace_id in sorted(by_workspace):
            chain = by_workspace[workspace_id]
            tickets = sorted({e.ticket_id for e in chain if e.ticket_id is not None})
            cursor.execute(_LOCK_SQL, [CHAIN_LOCK, workspace_id, workspace_id, tickets, workspace_id])
            if cursor.fetchone() is None:  # no such workspace row (the insert fails on its key)
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHAIN_LOCK, workspace_id])
                cursor.execute(_LOCK_SQL.split("; ", 1)[1], [workspace_id])  # the chain's end
            else:
                cursor.nextset()
            last = cursor.fetchone()
            if last is None:
                # Retention may have pruned every event: the chain goes on from its checkpoint.
                cursor.execute(_CHECKPOINT_SQL, [workspace_id])
                last = cursor.fetchone()
            seq, prev_hash, previous_at = (last[0], last[1], last[2]) if last else (0, GENESIS_HASH, None)
            for event in chain:
                seq += 1
                # When it was recorded; never before the row it follows (a transaction that
                # recorded earlier can commit later), so time only moves forward along seq.
                if previous_at is not None and event.created_at < previous_at:
                    event.created_at = previous_at
                event.seq, event.prev_hash = seq, prev_hash
                event.hash = prev_hash = compute_hash(event.hashed_fields())
                previous_at = event.created_at
            AuditEvent.objects.bulk_create(chain)


def audit_flush() -> None:
    """Write this transaction's pending audit events now (before reading the log in it)."""
    conn = transaction.get_connection()
    if getattr(conn, "before_commit_queue", None):
        conn.run_before_commit(only=_append)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    seq: int | None = None


def verify_chain(
    rows: Iterable[dict[str, Any]],
    *,
    start_prev_hash: str | None = None,
    start_seq: int | None = None,
) -> VerifyResult:
    """Check one workspace's rows in seq order: contiguous seq, linked hashes, intact content.

    Rows are dicts shaped like `AuditEvent.hashed_fields()` plus `hash`, so the same check
    serves the database and an exported file. A chain that does not start at the genesis
    (a range export, or a workspace pruned up to a checkpoint) is verified from the
    `start_prev_hash` (and `start_seq`) the caller trusts: the export's header or the
    checkpoint row. Without them the first row's own `prev_hash` is taken as given.
    """
    expected_prev = start_prev_hash
    expected_seq = start_seq
    checked = 0
    for row in rows:
        seq = int(row["seq"])
        if expected_seq is not None and seq != expected_seq:
            return VerifyResult(False, checked, f"gap: expected seq {expected_seq}, found {seq}", seq)
        if checked == 0 and expected_prev is None and seq != 1 and row["prev_hash"] == GENESIS_HASH:
            return VerifyResult(False, checked, f"chain starts at seq {seq}, not 1", seq)
        if expected_prev is not None and row["prev_hash"] != expected_prev:
            return VerifyResult(False, checked, "prev_hash does not match the previous row", seq)
        fields = {key: row[key] for key in _HASHED_KEYS}
        if compute_hash(fields) != row["hash"]:
            return VerifyResult(False, checked, "content does not match its hash (edited)", seq)
        expected_prev = row["hash"]
        expected_seq = seq + 1
        checked += 1
    return VerifyResult(True, checked)


_HASHED_KEYS = (
    "workspace",
    "ticket",
    "seq",
    "actor_kind",
    "actor",
    "kind",
    "data",
    "prev_hash",
    "created_at",
)


def event_rows(workspace_id: int) -> Iterator[dict[str, Any]]:
    """Stream a workspace's chain in constant memory, shaped for `verify_chain`."""
    for event in AuditEvent.objects.filter(workspace_id=workspace_id).order_by("seq").iterator(chunk_size=2000):
        yield {**event.hashed_fields(), "hash": event.hash}


def chain_start(workspace_id: int) -> tuple[int, str]:
    """Where a workspace's chain in the database starts: (first seq, its prev_hash).

    The genesis, or just after the latest retention checkpoint once old events were pruned.
    """
    checkpoint = AuditCheckpoint.objects.filter(workspace_id=workspace_id).order_by("-seq").first()
    if checkpoint is None:
        return 1, GENESIS_HASH
    return checkpoint.seq + 1, checkpoint.hash


def audit_verify_workspace(*, workspace_id: int) -> VerifyResult:
    start_seq, start_prev_hash = chain_start(workspace_id)
    return verify_chain(event_rows(workspace_id), start_prev_hash=start_prev_hash, start_seq=start_seq)

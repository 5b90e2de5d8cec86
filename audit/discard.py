"""Discarding a throwaway workspace's whole chain (a trial's sandbox), which nothing else may do.

A sandbox holds only what a shadow trial imported and simulated; deleting the trial deletes it.
Its events are removed with the same controlled bypass of the append-only trigger that
retention uses (`oasis.audit_prune`, set for this transaction only). The caller records, in the
live workspace's chain, that it happened and the head returned here.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from audit.models import AuditCheckpoint, AuditEvent
from audit.services import CHAIN_LOCK


def audit_discard_workspace(*, workspace_id: int) -> dict[str, Any]:
    """Delete every event of the workspace; returns {"events", "last_seq", "last_hash"}.

    Refused for a chain that was ever pruned (it has checkpoints): only a sandbox, which is never
    pruned, may be discarded."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_discard_workspace must run inside the caller's transaction")
    if AuditCheckpoint.objects.filter(workspace_id=workspace_id).exists():
        raise ValueError("a pruned chain cannot be discarded")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHAIN_LOCK, workspace_id])
    last = AuditEvent.objects.filter(workspace_id=workspace_id).order_by("-seq").values("seq", "hash").first()
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('oasis.audit_prune', 'on', true)")
        cursor.execute(f"DELETE FROM {AuditEvent._meta.db_table} WHERE workspace_id = %s", [workspace_id])  # noqa: S608
        deleted = cursor.rowcount
        cursor.execute("SELECT set_config('oasis.audit_prune', 'off', true)")
    return {"events": deleted, "last_seq": last["seq"] if last else 0, "last_hash": last["hash"] if last else ""}

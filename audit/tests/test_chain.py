from __future__ import annotations

from itertools import pairwise

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from audit.models import AuditEvent
from audit.services import audit_verify_workspace


def test_it_chains_events_per_workspace(ticket):
    events = list(AuditEvent.objects.for_workspace(ticket.workspace_id).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for previous, current in pairwise(events):
        assert current.prev_hash == previous.hash
    assert audit_verify_workspace(workspace_id=ticket.workspace_id).ok


def test_it_refuses_update_and_delete(ticket):
    event = AuditEvent.objects.for_workspace(ticket.workspace_id).get(seq=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(kind="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).kind == event.kind


def test_it_detects_an_edit_made_with_the_trigger_disabled(ticket):
    event = AuditEvent.objects.for_workspace(ticket.workspace_id).order_by("seq")[1]
    with connection.cursor() as cursor:
        # What a superuser could do: switch triggers off for the session and rewrite history.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET data = '{\"forged\": true}' WHERE id = %s", [event.pk])
        cursor.execute("SET session_replication_role = DEFAULT")
    result = audit_verify_workspace(workspace_id=ticket.workspace_id)
    assert not result.ok
    assert result.seq == event.seq
    assert "edited" in result.problem


def test_it_detects_a_removed_row(ticket):
    event = AuditEvent.objects.for_workspace(ticket.workspace_id).order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
        cursor.execute("SET session_replication_role = DEFAULT")
    result = audit_verify_workspace(workspace_id=ticket.workspace_id)
    assert not result.ok
    assert "gap" in result.problem

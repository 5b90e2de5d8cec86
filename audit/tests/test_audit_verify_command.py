from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditEvent


def run(*args: str) -> str:
    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def test_it_reports_every_intact_chain(ticket, other_workspace):
    count = AuditEvent.objects.for_workspace(ticket.workspace_id).count()
    output = run()
    assert f"OK acme: {count} events" in output
    assert "OK globex: 1 events" in output
    assert run("--workspace", "globex").strip() == "OK globex: 1 events"


def test_it_reports_a_broken_chain_and_fails(ticket, other_workspace):
    event = AuditEvent.objects.for_workspace(ticket.workspace_id).order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET actor = 'someone else' WHERE id = %s", [event.pk])
        cursor.execute("SET session_replication_role = DEFAULT")
    out = StringIO()
    with pytest.raises(CommandError, match="1 workspace chain"):
        call_command("audit_verify", stdout=out)
    assert f"BROKEN acme at seq {event.seq}: content does not match its hash" in out.getvalue()
    assert "OK globex" in out.getvalue()


def test_it_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="nope"):
        run("--workspace", "nope")

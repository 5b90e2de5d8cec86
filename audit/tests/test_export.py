from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse

from audit.export import verify_export_file, verify_export_lines, verify_ticket_export
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, Actor, audit_record, audit_verify_workspace


def add_events(workspace, n, ticket=None):
    with transaction.atomic():
        return [
            audit_record(workspace=workspace, ticket=ticket, actor=Actor.system("t"), kind="test.event", data={"i": i})
            for i in range(n)
        ]


def export(*args):
    out = StringIO()
    call_command("audit_export", *args, stdout=out)
    return out.getvalue()


def verify_file(path):
    out = StringIO()
    try:
        call_command("audit_verify", "--file", str(path), stdout=out)
    except CommandError:
        return False, out.getvalue()
    return True, out.getvalue()


def rewrite(path, edit):
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def tamper_db(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET session_replication_role = DEFAULT")


def test_it_round_trips_a_workspace_export(ai_ticket, tmp_path):
    path = tmp_path / "acme.jsonl"
    assert "Exported" in export("--workspace", "acme", str(path))
    lines = path.read_text().splitlines()
    header, footer = json.loads(lines[0]), json.loads(lines[-1])
    events = list(AuditEvent.objects.for_workspace(ai_ticket.workspace_id).order_by("seq"))
    assert header["workspace"] == ai_ticket.workspace_id
    assert header["start_seq"] == 1 and header["start_prev_hash"] == GENESIS_HASH
    assert footer["export_end"] == {"count": len(events), "last_seq": events[-1].seq, "last_hash": events[-1].hash}
    first = json.loads(lines[1])
    assert first == {**events[0].hashed_fields(), "hash": events[0].hash}
    assert verify_file(path) == (True, f"OK {path}: {len(events)} events from seq 1\n")


def test_it_verifies_a_range_that_starts_mid_chain(workspace, tmp_path):
    events = add_events(workspace, 6)
    path = tmp_path / "range.jsonl"
    export("--workspace", "acme", "--since", events[2].created_at.isoformat(), str(path))
    header = json.loads(path.read_text().splitlines()[0])
    assert header["start_seq"] == events[2].seq
    assert header["start_prev_hash"] == events[1].hash
    ok, output = verify_file(path)
    assert ok, output
    assert "4 events" in output
    # A mid-chain range checked as if it started at the genesis fails: the start matters.
    rewrite(path, lambda lines: [json.dumps({**json.loads(lines[0]), "start_prev_hash": GENESIS_HASH}), *lines[1:]])
    assert verify_file(path)[0] is False


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda lines: [*lines[:3], lines[3].replace('"test.event"', '"test.forged"'), *lines[4:]], "edited"),
        (lambda lines: [*lines[:3], *lines[4:]], "gap"),
        (lambda lines: [*lines[:-2], lines[-1]], "footer says"),
        (lambda lines: lines[:-1], "truncated"),
    ],
    ids=["edited-row", "removed-row", "removed-last-row", "removed-footer"],
)
def test_it_detects_tampering_in_an_exported_file(workspace, tmp_path, edit, problem):
    add_events(workspace, 5)
    path = tmp_path / "acme.jsonl"
    export("--workspace", "acme", str(path))
    assert verify_file(path)[0]
    rewrite(path, edit)
    ok, output = verify_file(path)
    assert not ok
    assert "BROKEN" in output and problem in output


def test_it_carries_a_database_edit_into_the_export_where_it_is_detected(workspace, tmp_path):
    events = add_events(workspace, 4)
    tamper_db("UPDATE audit_auditevent SET data = '{\"i\": 99}' WHERE id = %s", [events[1].pk])
    path = tmp_path / "acme.jsonl"
    with pytest.raises(CommandError, match="does not verify"):
        export("--workspace", "acme", str(path))
    check = verify_export_file(path)
    assert not check.ok and check.result.seq == events[1].seq and "edited" in check.result.problem


def test_it_detects_a_row_removed_from_the_database_in_the_export(workspace, tmp_path):
    events = add_events(workspace, 4)
    tamper_db("DELETE FROM audit_auditevent WHERE id = %s", [events[2].pk])
    assert not audit_verify_workspace(workspace_id=workspace.pk).ok
    path = tmp_path / "acme.jsonl"
    with pytest.raises(CommandError):
        export("--workspace", "acme", str(path))
    assert "gap" in verify_export_file(path).result.problem


def test_it_detects_the_first_rows_removed_from_the_database(workspace):
    add_events(workspace, 3)
    tamper_db("DELETE FROM audit_auditevent WHERE workspace_id = %s AND seq <= 2", [workspace.pk])
    result = audit_verify_workspace(workspace_id=workspace.pk)
    assert not result.ok and "expected seq 1" in result.problem


def test_it_exports_a_tickets_trail_with_its_hashes(client, agent, ai_ticket, tmp_path):
    client.force_login(agent)
    response = client.get(reverse("audit:ticket_export", args=[ai_ticket.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    document = json.loads(response.content)
    events = list(AuditEvent.objects.for_ticket(ai_ticket.pk).order_by("seq"))
    assert [e["hash"] for e in document["events"]] == [e.hash for e in events]
    assert document["export"]["ticket"] == ai_ticket.pk
    assert verify_ticket_export(document).ok
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps(document, indent=2))
    assert verify_file(path)[0]
    document["events"][3]["data"]["confidence"] = 0.99
    path.write_text(json.dumps(document))
    ok, output = verify_file(path)
    assert not ok and "edited" in output


def test_it_streams_the_workspace_export_to_managers_only(client, agent, manager, ai_ticket):
    url = reverse("audit:workspace_export")
    client.force_login(agent)
    assert client.get(url).status_code == 404
    client.force_login(manager)
    response = client.get(url, {"since": "2000-01-01", "until": "2999-12-31"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("application/x-ndjson")
    lines = b"".join(response.streaming_content).decode().splitlines()
    check = verify_export_lines(lines)
    assert check.ok
    assert check.result.checked == AuditEvent.objects.for_workspace(ai_ticket.workspace_id).count()
    assert client.get(url, {"since": "yesterday"}).status_code == 400


def test_it_exports_nothing_for_a_range_without_events(client, manager, workspace):
    client.force_login(manager)
    response = client.get(reverse("audit:workspace_export"), {"until": "2001-01-01"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1]) == {"export_end": {"count": 0, "last_seq": None, "last_hash": None}}
    assert verify_export_lines(lines).ok


def test_it_spells_timestamps_exactly_as_they_were_hashed(workspace, tmp_path):
    """Postgres formats export lines; a whole-second timestamp must still read as Python wrote it."""
    from datetime import UTC, datetime

    from audit.services import canonical_json, compute_hash

    last = AuditEvent.objects.for_workspace(workspace.pk).order_by("-seq").first()
    assert last is not None
    prev_hash, seq = last.hash, last.seq
    with connection.cursor() as cursor:
        for stamp in (datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2030, 1, 2, 3, 4, 5, 7, tzinfo=UTC)):
            seq += 1
            data = {"note": 'naïve "quotes" <b>', "n": 1e-07, "big": 12345678901234567890}
            fields = {
                "workspace": workspace.pk,
                "ticket": None,
                "seq": seq,
                "actor_kind": "system",
                "actor": "t",
                "kind": "test.raw",
                "data": json.loads(canonical_json(data)),
                "prev_hash": prev_hash,
                "created_at": stamp.isoformat(),
            }
            prev_hash = compute_hash(fields)
            cursor.execute(
                "INSERT INTO audit_auditevent (workspace_id, ticket_id, seq, actor_kind, actor, kind, data, prev_hash,"
                " hash, created_at) VALUES (%s, NULL, %s, 'system', 't', 'test.raw', %s::jsonb, %s, %s, %s)",
                [workspace.pk, seq, canonical_json(data), fields["prev_hash"], prev_hash, stamp],
            )
    assert audit_verify_workspace(workspace_id=workspace.pk).ok
    path = tmp_path / "raw.jsonl"
    export("--workspace", "acme", str(path))
    lines = path.read_text().splitlines()
    assert json.loads(lines[-3])["created_at"] == "2030-01-02T03:04:05+00:00"
    assert json.loads(lines[-2])["created_at"] == "2030-01-02T03:04:05.000007+00:00"
    assert verify_file(path)[0]

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from audit.export import audit_prune, verify_export_file
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import GENESIS_HASH, Actor, audit_record, audit_verify_workspace
from audit.tests.test_export import add_events


def prune(*args):
    out = StringIO()
    call_command("audit_prune", *args, stdout=out)
    return out.getvalue()


def test_it_archives_then_prunes_and_keeps_the_chain_verifiable(workspace, tmp_path):
    events = add_events(workspace, 6)
    archive = tmp_path / "archive.jsonl"
    output = prune("--workspace", "acme", "--before", events[3].created_at.isoformat(), "--archive", str(archive))
    # The workspace.created event (seq 1) and the first three test events are gone.
    assert "Archived and pruned 4 events of acme through seq 4" in output and "chain OK" in output
    remaining = list(AuditEvent.objects.for_workspace(workspace.pk).order_by("seq"))
    assert [e.seq for e in remaining] == [5, 6, 7, 8]  # 8 is the audit.pruned event itself
    assert remaining[-1].kind == "audit.pruned"
    assert remaining[-1].data["through_seq"] == 4 and remaining[-1].data["count"] == 4
    checkpoint = AuditCheckpoint.objects.get(workspace=workspace)
    assert (checkpoint.seq, checkpoint.hash, checkpoint.pruned) == (4, events[2].hash, 4)
    assert audit_verify_workspace(workspace_id=workspace.pk).ok
    # The archive holds exactly what was pruned and verifies on its own, from the genesis.
    check = verify_export_file(archive)
    assert check.ok and check.result.checked == 4
    assert check.header["start_prev_hash"] == GENESIS_HASH
    assert not archive.with_name(archive.name + ".partial").exists()
    out = StringIO()
    call_command("audit_verify", "--workspace", "acme", stdout=out)
    # The prune anchored its checkpoint outside the database (audit/anchor.py).
    assert out.getvalue().strip() == "OK acme: 4 events, anchored through seq 4"


def test_it_chains_successive_archives_through_the_checkpoints(workspace, tmp_path):
    events = add_events(workspace, 4)
    audit_prune(
        workspace=workspace, before=events[1].created_at, archive=tmp_path / "a1.jsonl", actor=Actor.system("t")
    )
    first = AuditCheckpoint.objects.get()
    later = add_events(workspace, 2)
    result = audit_prune(
        workspace=workspace, before=later[0].created_at, archive=tmp_path / "a2.jsonl", actor=Actor.system("t")
    )
    header = json.loads((tmp_path / "a2.jsonl").read_text().splitlines()[0])
    assert header["start_seq"] == first.seq + 1 and header["start_prev_hash"] == first.hash
    assert verify_export_file(tmp_path / "a2.jsonl").ok
    assert result.checkpoint is not None and result.checkpoint.seq == later[0].seq - 1
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


def test_it_refuses_to_prune_a_tampered_chain_and_deletes_nothing(workspace, tmp_path):
    events = add_events(workspace, 4)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET actor = 'forger' WHERE id = %s", [events[0].pk])
        cursor.execute("SET session_replication_role = DEFAULT")
    count = AuditEvent.objects.count()
    with pytest.raises(CommandError, match="Refusing to prune: the archive does not verify"):
        prune(
            "--workspace", "acme", "--before", events[3].created_at.isoformat(), "--archive", str(tmp_path / "a.jsonl")
        )
    assert AuditEvent.objects.count() == count
    assert not AuditCheckpoint.objects.exists()


def test_it_keeps_everything_when_no_retention_is_configured(workspace, tmp_path, monkeypatch):
    monkeypatch.delenv("OASIS_AUDIT_RETENTION_DAYS", raising=False)
    add_events(workspace, 2)
    output = prune("--workspace", "acme", "--archive", str(tmp_path / "a.jsonl"))
    assert "keeps audit events forever" in output
    assert not (tmp_path / "a.jsonl").exists()
    assert AuditEvent.objects.for_workspace(workspace.pk).count() == 3


def test_it_uses_the_configured_retention_days(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("OASIS_AUDIT_RETENTION_DAYS", "30")
    add_events(workspace, 2)
    output = prune("--workspace", "acme", "--archive", str(tmp_path / "a.jsonl"))
    assert output.startswith("Nothing older than")
    monkeypatch.setenv("OASIS_AUDIT_RETENTION_DAYS", "soon")
    with pytest.raises(Exception, match="whole number of days"):
        prune("--workspace", "acme", "--archive", str(tmp_path / "b.jsonl"))


def test_it_never_overwrites_an_archive(workspace, tmp_path):
    archive = tmp_path / "a.jsonl"
    archive.write_text("precious")
    with pytest.raises(CommandError, match="never overwritten"):
        prune("--workspace", "acme", "--before", "2999-01-01", "--archive", str(archive))
    assert archive.read_text() == "precious"


def test_it_allows_delete_only_inside_a_prune_and_never_update(workspace):
    event = add_events(workspace, 1)[0]
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL oasis.audit_prune = 'on'")
        AuditEvent.objects.filter(pk=event.pk).update(actor="forger")
    # The setting is local to a transaction: outside the prune's, DELETE is refused again.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).actor == "t"


def test_it_keeps_checkpoints_append_only(workspace, tmp_path):
    events = add_events(workspace, 2)
    audit_prune(workspace=workspace, before=events[1].created_at, archive=tmp_path / "a.jsonl", actor=Actor.system("t"))
    checkpoint = AuditCheckpoint.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(hash="0" * 64)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL oasis.audit_prune = 'on'")
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete()


def test_it_prunes_nothing_when_nothing_is_old_enough(workspace, tmp_path):
    result = audit_prune(
        workspace=workspace,
        before=timezone.now() - timedelta(days=1),
        archive=tmp_path / "a.jsonl",
        actor=Actor.system("t"),
    )
    assert result.pruned == 0 and not (tmp_path / "a.jsonl").exists()
    with transaction.atomic():
        audit_record(workspace=workspace, actor=Actor.system("t"), kind="after")
    assert audit_verify_workspace(workspace_id=workspace.pk).ok


def _prune_all(workspace, archive):
    return audit_prune(
        workspace=workspace, before=timezone.now() + timedelta(days=1), archive=archive, actor=Actor.system("t")
    )


def test_it_continues_the_chain_from_the_checkpoint_after_pruning_every_event(workspace, tmp_path):
    add_events(workspace, 3)
    result = _prune_all(workspace, tmp_path / "all.jsonl")
    checkpoint = result.checkpoint
    assert (checkpoint.seq, result.pruned) == (4, 4)
    # The prune's own event is the first after the checkpoint, linked to it.
    pruned_event = AuditEvent.objects.for_workspace(workspace.pk).get()
    assert (pruned_event.kind, pruned_event.seq, pruned_event.prev_hash) == ("audit.pruned", 5, checkpoint.hash)
    assert audit_verify_workspace(workspace_id=workspace.pk).ok
    later = add_events(workspace, 1)[0]
    assert (later.seq, later.prev_hash) == (6, pruned_event.hash)
    out = StringIO()
    call_command("audit_verify", "--workspace", "acme", stdout=out)
    assert out.getvalue().strip() == "OK acme: 2 events, anchored through seq 4"


def test_it_verifies_after_partial_total_and_repeated_prunes(workspace, tmp_path):
    events = add_events(workspace, 4)
    audit_prune(workspace=workspace, before=events[2].created_at, archive=tmp_path / "1.jsonl", actor=Actor.system("t"))
    assert audit_verify_workspace(workspace_id=workspace.pk).ok
    for n in range(2, 5):
        _prune_all(workspace, tmp_path / f"{n}.jsonl")
        assert audit_verify_workspace(workspace_id=workspace.pk).ok, n
        add_events(workspace, 2)
        assert audit_verify_workspace(workspace_id=workspace.pk).ok, n
    seqs = list(AuditCheckpoint.objects.filter(workspace=workspace).order_by("seq").values_list("seq", flat=True))
    assert seqs == [3, 6, 9, 12]
    # Every archive verifies and starts where the previous one ended.
    for n in range(1, 5):
        assert verify_export_file(tmp_path / f"{n}.jsonl").ok, n

"""Chain heads anchored outside the database: what a database superuser can rewrite is found.

Each attack runs with the append-only triggers disabled and leaves a chain that verifies on its
own (`audit_verify_workspace`, which is all `audit_verify` checked before anchors); only the
comparison with the signed anchor file finds it.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.anchor import anchor_log_read
from audit.export import audit_prune
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import Actor, audit_verify_workspace, compute_hash
from audit.tasks import anchor_heads_task
from audit.tests.test_export import add_events

KEY = "a-long-random-anchor-key-for-the-tests-0123456789"


def verify(*args):
    """(stdout, the CommandError's message or None, stderr) of `audit_verify`."""
    out, err = StringIO(), StringIO()
    try:
        call_command("audit_verify", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), str(exc), err.getvalue()
    return out.getvalue(), None, err.getvalue()


def anchor(*args):
    out = StringIO()
    call_command("audit_anchor", *args, stdout=out)
    return out.getvalue()


@contextmanager
def triggers_off():
    """What a database superuser can do: switch the append-only triggers off."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred check
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
        cursor.execute("ALTER TABLE audit_auditcheckpoint DISABLE TRIGGER ALL")
        yield cursor
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER ALL")
        cursor.execute("ALTER TABLE audit_auditcheckpoint ENABLE TRIGGER ALL")


def anchored_chain(workspace, n=5):
    add_events(workspace, n)
    assert "Anchored acme at seq" in anchor("--workspace", "acme")
    return list(AuditEvent.objects.for_workspace(workspace.pk).order_by("seq"))


def test_it_anchors_each_head_that_moved_once_in_a_signed_chain_of_lines(workspace, other_workspace, audit_anchor_file):
    add_events(workspace, 2)
    first = anchor()
    assert "Anchored acme at seq 3" in first and "Anchored globex at seq 1" in first
    assert "already" in anchor()
    add_events(workspace, 1)
    assert anchor_heads_task() == 1  # the scheduled task: only the head that moved
    lines = [json.loads(line) for line in audit_anchor_file.read_text().splitlines()]
    assert [(line["workspace_slug"], line["seq"]) for line in lines] == [("acme", 3), ("globex", 1), ("acme", 4)]
    assert lines[0]["prev"] == "" and lines[1]["prev"] == lines[0]["mac"] and lines[2]["prev"] == lines[1]["mac"]
    head = AuditEvent.objects.for_workspace(workspace.pk).latest("seq")
    assert (lines[2]["hash"], lines[2]["kind"]) == (head.hash, "head")
    out, failed, _ = verify()
    assert failed is None
    assert "OK acme: 4 events, anchored through seq 4" in out and "OK globex: 1 events, anchored through seq 1" in out


def test_it_reports_the_newest_events_deleted_after_they_were_anchored(workspace):
    events = anchored_chain(workspace)
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE workspace_id = %s AND seq > 3", [workspace.pk])
    assert audit_verify_workspace(workspace_id=workspace.pk).ok  # the chain alone cannot tell

    out, failed, _ = verify("--workspace", "acme")
    assert failed == "1 workspace chain(s) broken."
    seq = events[-1].seq
    assert f"BROKEN acme at seq {seq}: truncated: the chain ends at seq 3, but seq {seq} was anchored at" in out


def test_it_reports_a_suffix_re_hashed_after_an_edit(workspace):
    events = anchored_chain(workspace)
    with triggers_off():
        previous = events[1].hash
        for event in events[2:]:
            if event.seq == 3:
                event.data = {"i": "forged"}
            event.prev_hash = previous
            event.hash = previous = compute_hash(event.hashed_fields())
            AuditEvent.objects.filter(pk=event.pk).update(data=event.data, prev_hash=event.prev_hash, hash=event.hash)
    assert audit_verify_workspace(workspace_id=workspace.pk).ok  # re-hashed: the chain alone cannot tell

    out, failed, _ = verify("--workspace", "acme")
    assert failed is not None
    assert f"BROKEN acme at seq {events[-1].seq}: hash differs from the one anchored at" in out
    assert "re-hashed after an edit" in out


def test_it_reports_a_forged_checkpoint_that_disagrees_with_an_anchored_head(workspace):
    events = anchored_chain(workspace)
    head = events[-1]
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE workspace_id = %s", [workspace.pk])
    AuditCheckpoint.objects.create(
        workspace=workspace, seq=head.seq, hash="f" * 64, archived_to="nowhere", created_at=timezone.now()
    )
    assert audit_verify_workspace(workspace_id=workspace.pk).ok  # the chain resumes from the checkpoint

    out, failed, _ = verify("--workspace", "acme")
    assert failed is not None
    assert f"BROKEN acme at seq {head.seq}: forged checkpoint: its hash differs from the one anchored at" in out


def test_it_reports_a_checkpoint_no_prune_anchored(workspace):
    """A checkpoint past the anchored head, whose hash no anchor can contradict, is still found."""
    events = anchored_chain(workspace)
    beyond = events[-1].seq + 3
    with triggers_off() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE workspace_id = %s", [workspace.pk])
    AuditCheckpoint.objects.create(
        workspace=workspace, seq=beyond, hash="e" * 64, archived_to="nowhere", created_at=timezone.now()
    )
    assert audit_verify_workspace(workspace_id=workspace.pk).ok

    out, failed, _ = verify("--workspace", "acme")
    assert failed is not None
    assert f"BROKEN acme at seq {beyond}: forged checkpoint: no prune anchored it" in out


def test_it_reports_a_tampered_anchor_file(workspace, audit_anchor_file):
    anchored_chain(workspace, 2)
    add_events(workspace, 1)
    anchor()
    add_events(workspace, 1)
    anchor()
    lines = audit_anchor_file.read_text().splitlines()
    assert len(lines) == 3
    edited = json.loads(lines[2])
    edited["hash"] = "0" * 64  # to let a rewritten chain pass, the attacker edits the anchor too
    audit_anchor_file.write_text("\n".join([lines[0], lines[1], json.dumps(edited)]) + "\n")

    out, failed, _ = verify("--workspace", "acme")
    assert failed == "the anchor file does not verify."
    assert f"BROKEN anchor file {audit_anchor_file}: line 3: the signature does not match" in out
    assert "OK acme: 5 events, anchored through seq 4" in out  # the lines that hold still count

    audit_anchor_file.write_text("\n".join([lines[0], lines[2]]) + "\n")  # a line removed
    out, failed, _ = verify("--workspace", "acme")
    assert "line 2 does not follow the line before it" in out and failed is not None


def test_it_refuses_lines_signed_with_another_key(workspace, monkeypatch, audit_anchor_file):
    anchored_chain(workspace, 1)
    monkeypatch.setenv("OASIS_AUDIT_ANCHOR_KEY", KEY)
    out, failed, _ = verify()
    assert "line 1: the signature does not match" in out and failed is not None
    add_events(workspace, 1)
    anchor()  # appended with the configured key: that line holds
    log = anchor_log_read()
    assert [a.line for a in log.for_workspace(workspace.pk)] == [2]


def test_it_verifies_after_anchored_partial_total_and_repeated_prunes(workspace, tmp_path):
    events = anchored_chain(workspace, 4)
    audit_prune(workspace=workspace, before=events[2].created_at, archive=tmp_path / "1.jsonl", actor=Actor.system("t"))
    assert verify()[1] is None
    for n in (2, 3):
        anchor()
        audit_prune(
            workspace=workspace,
            before=timezone.now() + timedelta(days=1),
            archive=tmp_path / f"{n}.jsonl",
            actor=Actor.system("t"),
        )
        out, failed, _ = verify()
        assert failed is None, out
        add_events(workspace, 2)
    anchor()
    out, failed, _ = verify()
    assert failed is None and "OK acme: 3 events, anchored through seq" in out
    kinds = [a.kind for a in anchor_log_read().for_workspace(workspace.pk)]
    assert kinds.count("checkpoint") == 3


def test_it_refuses_to_anchor_without_a_key_in_production(workspace, settings, monkeypatch, tmp_path):
    monkeypatch.delenv("OASIS_AUDIT_ANCHOR_KEY", raising=False)
    settings.DEBUG = False
    settings.TESTING = False
    with pytest.raises(CommandError, match="OASIS_AUDIT_ANCHOR_KEY is not set"):
        anchor()
    out, failed, err = verify("--workspace", "acme")
    assert failed is None and out.strip() == "OK acme: 1 events"
    assert "Anchors not checked: OASIS_AUDIT_ANCHOR_KEY is not set" in err
    monkeypatch.setenv("OASIS_AUDIT_ANCHOR_KEY", "short")
    with pytest.raises(CommandError, match="at least 32 characters"):
        anchor()
    monkeypatch.setenv("OASIS_AUDIT_ANCHOR_KEY", KEY)
    assert "Anchored acme at seq 1" in anchor()


def test_it_schedules_the_anchoring_every_five_minutes(db):
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="audit.anchor_heads")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("audit.tasks.anchor_heads_task", "I", 5)

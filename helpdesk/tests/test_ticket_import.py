"""Ticket importers (Zendesk, Freshdesk, Help Scout, CSV, mbox, Maildir): the format check up front,
the per-row error report, and the inbox destination (all or nothing, no AI run, no e-mail)."""

from __future__ import annotations

import mailbox
import zipfile
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from ai.models import AgentRun
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Message, Ticket, TicketStatus
from helpdesk.tests.ticket_exports import CSV, FRESHDESK, HELPSCOUT, MBOX, ZENDESK, write
from helpdesk.ticket_import import TicketFormatError, read_tickets_file
from helpdesk.ticket_import import inbox as inbox_import
from helpdesk.ticket_import.csv_table import csv_preview
from helpdesk.ticket_import.inbox import tickets_import

SYSTEM = Actor.system("test")


def thread(ticket):
    return [(m.author, m.body) for m in ticket.messages]


def test_it_reads_a_zendesk_export_without_notes_and_reports_bad_rows(tmp_path):
    parsed = read_tickets_file(write(tmp_path, "zendesk.json", ZENDESK))
    assert parsed.format == "zendesk"
    first, second = parsed.tickets
    assert (first.external_id, first.customer_email, first.customer_name, first.closed) == (
        "zendesk:101",
        "rita@customer.test",
        "Rita Refund",
        True,
    )
    assert thread(first) == [
        ("customer", "Hi, my order B2002 has not arrived."),
        ("agent", "It ships today with DHL."),
        ("customer", "Thanks!"),
    ]
    assert first.body == "Hi, my order B2002 has not arrived." and first.agent_reply == "It ships today with DHL."
    assert (second.channel, second.body, second.agent_reply) == ("web", ZENDESK["tickets"][1]["description"], "")
    assert parsed.errors == ["zendesk.json ticket 103: missing requester email"]


def test_it_reads_freshdesk_and_help_scout_exports_in_thread_order(tmp_path):
    fresh = read_tickets_file(write(tmp_path, "freshdesk.json", FRESHDESK))
    assert fresh.format == "freshdesk" and len(fresh.tickets) == 1
    assert (fresh.tickets[0].channel, thread(fresh.tickets[0])) == (
        "chat",
        [("customer", "I forgot my password."), ("agent", "Use the Forgot password link.")],
    )
    assert fresh.errors == ["freshdesk.json ticket 8: requester email 'not-an-email' is not an email address"]
    scout = read_tickets_file(write(tmp_path, "helpscout.json", HELPSCOUT))
    assert scout.format == "helpscout"
    (conversation,) = scout.tickets
    assert (conversation.external_id, conversation.customer_name, conversation.channel) == (
        "helpscout:555",
        "Lee Legal",
        "chat",
    )
    # Help Scout lists threads newest first; the note is left out.
    assert thread(conversation) == [
        ("customer", "Can I exchange my boots for a bigger size?"),
        ("agent", "Sure, which size?"),
    ]


def test_it_checks_the_format_first_and_says_what_it_expected(tmp_path):
    freshdesk = write(tmp_path, "freshdesk.json", FRESHDESK)
    with pytest.raises(TicketFormatError, match="not a Zendesk tickets export"):
        read_tickets_file(freshdesk, fmt="zendesk")
    with pytest.raises(TicketFormatError, match="not a Help Scout export"):
        read_tickets_file(freshdesk, fmt="helpscout")
    with pytest.raises(TicketFormatError, match="cannot tell the format"):
        read_tickets_file(write(tmp_path, "other.json", {"hello": "world"}))
    with pytest.raises(TicketFormatError, match="not valid JSON"):
        read_tickets_file(write(tmp_path, "broken.json", '{"tickets": [{"id": 1,'), fmt="zendesk")
    with pytest.raises(TicketFormatError, match="nested more than"):
        read_tickets_file(write(tmp_path, "deep.json", "[" * 200 + "]" * 200), fmt="freshdesk")
    binary = tmp_path / "x.json"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(TicketFormatError, match="binary"):
        read_tickets_file(binary, fmt="zendesk")
    with pytest.raises(TicketFormatError, match="not an mbox file"):
        read_tickets_file(freshdesk, fmt="mbox")


def test_it_previews_a_csv_guesses_the_columns_and_reads_it_with_the_mapping(tmp_path):
    preview = csv_preview(CSV)
    assert preview.headers[:3] == ["Ticket ID", "Requester email", "Requester name"]
    assert preview.rows[0][:2] == ["T-1", "ann@customer.test"]
    assert preview.mapping == {
        "external_id": "Ticket ID",
        "body": "Description",
        "customer_email": "Requester email",
        "customer_name": "Requester name",
        "created_at": "Created",
        "channel": "Source",
        "agent_reply": "Answer",
    }
    path = write(tmp_path, "tickets.csv", CSV)
    parsed = read_tickets_file(path, csv_mapping=preview.mapping)
    assert [t.external_id for t in parsed.tickets] == ["T-1", "T-3"]
    assert (parsed.tickets[0].agent_reply, parsed.tickets[1].channel) == ("It left yesterday.", "web")
    assert parsed.errors == ["tickets.csv row 3: customer e-mail 'not-an-email' is not an email address"]
    with pytest.raises(TicketFormatError, match="map a column to Customer's message"):
        read_tickets_file(path, csv_mapping={"customer_email": "Requester email"})
    with pytest.raises(TicketFormatError, match="the file has no column 'Nope'"):
        read_tickets_file(path, csv_mapping={"body": "Nope", "customer_email": "Requester email"})


def test_it_threads_a_mailbox_and_tells_the_shops_replies_from_the_customers(tmp_path):
    parsed = read_tickets_file(write(tmp_path, "inbox.mbox", MBOX), support_addresses=["help@shop.test"])
    assert parsed.format == "mbox"
    jacket, hours = parsed.tickets
    assert jacket.external_id == "mail:m1@customer.test" and jacket.customer_email == "rita@customer.test"
    assert thread(jacket) == [
        ("customer", "My jacket arrived torn. Can you replace it?"),
        ("agent", "Sorry! A new one is on its way."),
    ]
    assert jacket.created_at is not None and jacket.created_at.isoformat() == "2026-03-09T10:00:00+00:00"
    assert hours.agent_reply == ""
    assert len(parsed.errors) == 1 and "The message has no From address." in parsed.errors[0]


def test_it_reads_a_maildir_uploaded_as_a_zip(tmp_path):
    box = mailbox.Maildir(tmp_path / "Mail", create=True)
    for message in mailbox.mbox(write(tmp_path, "inbox.mbox", MBOX)):
        box.add(message)
    archive = tmp_path / "maildir.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (tmp_path / "Mail").rglob("*"):
            zf.write(path, path.relative_to(tmp_path))
    parsed = read_tickets_file(archive, support_addresses=["help@shop.test"])
    assert parsed.format == "maildir"
    assert sorted(t.external_id for t in parsed.tickets) == ["mail:m1@customer.test", "mail:m3@customer.test"]


def test_it_imports_into_the_inbox_once_without_ai_or_email(workspace, tmp_path, django_capture_on_commit_callbacks):
    parsed = read_tickets_file(write(tmp_path, "zendesk.json", ZENDESK))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = tickets_import(workspace=workspace, parsed=parsed, actor=SYSTEM, source="zendesk.json")
    assert len(result.created) == 2 and result.errors == ["zendesk.json ticket 103: missing requester email"]
    solved = Ticket.objects.get(workspace=workspace, external_id="zendesk:101")
    assert solved.status == TicketStatus.CLOSED and solved.customer.email == "rita@customer.test"
    assert [(m.kind, m.author_kind) for m in solved.messages.order_by("created_at")] == [
        ("customer", "customer"),
        ("reply", "agent"),
        ("customer", "customer"),
    ]
    assert solved.created_at.isoformat() == "2026-03-01T09:00:00+00:00"
    assert Ticket.objects.get(external_id="zendesk:102").status == TicketStatus.OPEN
    # History, not new mail: no AI run, no e-mail, nothing queued on commit.
    assert not AgentRun.objects.exists() and mail.outbox == [] and callbacks == []
    assert AuditEvent.objects.filter(workspace=workspace, kind="ticket.imported").count() == 2
    summary = AuditEvent.objects.get(workspace=workspace, kind="tickets.imported")
    assert (summary.data["imported"], summary.data["format"]) == (2, "zendesk")
    again = tickets_import(workspace=workspace, parsed=parsed, actor=SYSTEM)
    assert (again.created, sorted(again.skipped)) == ([], ["zendesk:101", "zendesk:102"])
    assert Ticket.objects.filter(workspace=workspace).count() == 2


def test_it_imports_nothing_when_one_ticket_fails(workspace, tmp_path, monkeypatch):
    parsed = read_tickets_file(write(tmp_path, "zendesk.json", ZENDESK))
    real = inbox_import._import_one

    def fail_on_the_second(**kwargs):
        if kwargs["item"].external_id == "zendesk:102":
            raise RuntimeError("disk full")
        return real(**kwargs)

    monkeypatch.setattr(inbox_import, "_import_one", fail_on_the_second)
    with pytest.raises(RuntimeError):
        tickets_import(workspace=workspace, parsed=parsed, actor=SYSTEM)
    assert not Ticket.objects.filter(workspace=workspace).exists() and not Message.objects.exists()
    assert not AuditEvent.objects.filter(workspace=workspace, kind__startswith="ticket").exists()


def test_it_imports_from_the_command_line(workspace, tmp_path):
    path = write(tmp_path, "tickets.csv", CSV)
    out, err = StringIO(), StringIO()
    call_command("import_tickets", str(path), "--workspace", "acme", "--dry-run", stdout=out, stderr=err)
    assert "csv: 2 tickets to import, 1 rows with errors" in out.getvalue()
    assert "skipped tickets.csv row 3" in err.getvalue() and not Ticket.objects.exists()
    call_command(
        "import_tickets",
        str(path),
        "--workspace",
        "acme",
        "--map",
        "body=Description",
        "--map",
        "customer_email=Requester email",
        stdout=out,
        stderr=err,
    )
    assert "csv: imported 2, already there 0, rows with errors 1" in out.getvalue()
    # No id column mapped: each ticket is named by its row.
    assert sorted(Ticket.objects.values_list("external_id", flat=True)) == ["row-2", "row-4"]
    with pytest.raises(CommandError, match="not a Zendesk"):
        call_command("import_tickets", str(path), "--workspace", "acme", "--format", "zendesk")

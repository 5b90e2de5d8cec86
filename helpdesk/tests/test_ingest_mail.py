"""`manage.py ingest_mail`: a Maildir or an mbox into a workspace, skipping bad messages."""

from __future__ import annotations

import mailbox
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from helpdesk.models import Message, Ticket
from helpdesk.tests.email_factory import raw_email


def run(path: Path, slug: str = "acme") -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("ingest_mail", str(path), workspace=slug, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def mailbox_messages() -> list[bytes]:
    return [
        raw_email(message_id="<one@buyer.test>"),
        raw_email(
            subject="Re: My parcel is late",
            body="Any news?\n> Hello, order A2002",
            message_id="<two@buyer.test>",
            in_reply_to="<one@buyer.test>",
        ),
        raw_email(sender="", message_id="<bad@buyer.test>"),
        raw_email(sender="eve@other.test", subject="Sizing", body="Do the boots run small?", message_id="<three@x>"),
    ]


def test_it_ingests_an_mbox_and_skips_the_malformed_message(workspace, tmp_path):
    path = tmp_path / "support.mbox"
    box = mailbox.mbox(path)
    for raw in mailbox_messages():
        box.add(raw)
    box.close()

    out, err = run(path)

    assert out.strip() == "created 2, appended 1, duplicate 0, failed 1"
    assert "no From address" in err
    tickets = Ticket.objects.filter(workspace=workspace).order_by("number")
    assert [t.subject for t in tickets] == ["My parcel is late", "Sizing"]
    assert list(tickets[0].messages.values_list("body", flat=True)) == [
        "Hello, order A2002 has not arrived. Can you help?",
        "Any news?",
    ]


def test_it_ingests_a_maildir_and_is_safe_to_run_again(workspace, tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in mailbox_messages():
        box.add(raw)
    box.close()

    out, _ = run(tmp_path / "Maildir")
    assert out.strip() == "created 2, appended 1, duplicate 0, failed 1"
    assert Message.objects.count() == 3

    out, _ = run(tmp_path / "Maildir")
    assert out.strip() == "created 0, appended 0, duplicate 3, failed 1"
    assert Message.objects.count() == 3


def test_it_refuses_unknown_workspaces_and_paths(workspace, tmp_path):
    with pytest.raises(CommandError, match="No workspace"):
        run(tmp_path, slug="nope")
    with pytest.raises(CommandError, match="does not exist"):
        run(tmp_path / "missing")
    with pytest.raises(CommandError, match="not a Maildir"):
        run(tmp_path)

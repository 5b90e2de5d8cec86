"""Import a Maildir or an mbox file into a workspace, one message at a time.

Each message goes through the same `ingest_email` as the webhook, so re-running the command
on the same mailbox is safe: already-filed Message-IDs come back as duplicates.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpdesk.channels.email_in import EmailRejected, ingest_email
from helpdesk.models import Workspace
from helpdesk.ticket_import import TicketFormatError
from helpdesk.ticket_import.mailbox_threads import mailbox_messages, open_mailbox

OUTCOMES = ("created", "appended", "duplicate", "failed")


class Command(BaseCommand):
    help = "Ingest every message of a Maildir (cur/ and new/) or an mbox file into a workspace."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="A Maildir folder or an mbox file.")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace to file tickets in.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        counts: Counter[str] = Counter()
        path = Path(options["path"])
        try:
            open_mailbox(path).close()  # the format check, before the first message is filed
        except TicketFormatError as exc:
            raise CommandError(str(exc)) from None
        for key, raw in mailbox_messages(path):
            try:
                outcome = ingest_email(workspace=workspace, raw=raw).outcome
            except EmailRejected as rejected:
                # One bad message must not stop the rest of the mailbox.
                self.stderr.write(f"skipped {key}: {rejected}")
                outcome = "failed"
            counts[outcome] += 1
        self.stdout.write(", ".join(f"{name} {counts[name]}" for name in OUTCOMES))

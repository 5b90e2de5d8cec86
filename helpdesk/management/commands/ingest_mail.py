"""Import a Maildir or an mbox file into a workspace, one message at a time.

Each message goes through the same `ingest_email` as the webhook, so re-running the command
on the same mailbox is safe: already-filed Message-IDs come back as duplicates.
"""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from helpdesk.email_in import EmailRejected, ingest_email
from helpdesk.models import Workspace

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
        for key, raw in _messages(Path(options["path"])):
            try:
                outcome = ingest_email(workspace=workspace, raw=raw).outcome
            except EmailRejected as rejected:
                # One bad message must not stop the rest of the mailbox.
                self.stderr.write(f"skipped {key}: {rejected}")
                outcome = "failed"
            counts[outcome] += 1
        self.stdout.write(", ".join(f"{name} {counts[name]}" for name in OUTCOMES))


def _messages(path: Path) -> Iterator[tuple[str, bytes]]:
    box = _open(path)
    try:
        keys = box.keys()
        if isinstance(box, mailbox.Maildir):
            # Maildir keys start with the delivery time but list in arbitrary order; sorting
            # them files an original before the reply to it. mbox keys are already in order.
            keys = sorted(keys)
        for key in keys:
            yield str(key), box.get_bytes(key)
    finally:
        box.close()


def _open(path: Path) -> mailbox.Mailbox:
    if path.is_dir():
        if not ((path / "cur").is_dir() and (path / "new").is_dir()):
            raise CommandError(f"{path} is a folder but not a Maildir (no cur/ and new/).")
        return mailbox.Maildir(path, factory=None, create=False)
    if path.is_file():
        return mailbox.mbox(path, create=False)
    raise CommandError(f"{path} does not exist.")

"""`manage.py audit_anchor [--workspace SLUG]`: write the chain heads to the anchor file now.

The `audit.anchor_heads` schedule does the same every few minutes; see audit/anchor.py.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.anchor import anchor_path, audit_anchor_heads
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Anchor each workspace's audit chain head (seq, hash, time) in the signed file outside the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Slug of the one workspace to anchor")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = None
        if options["workspace"]:
            ids = list(Workspace.objects.filter(slug=options["workspace"]).values_list("pk", flat=True))
            if not ids:
                raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        try:
            written = audit_anchor_heads(workspace_ids=ids)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        for head in written:
            self.stdout.write(f"Anchored {head.workspace_slug} at seq {head.seq}")
        if not written:
            self.stdout.write("Every chain head is anchored already.")
        self.stdout.write(f"Anchor file: {anchor_path()}")

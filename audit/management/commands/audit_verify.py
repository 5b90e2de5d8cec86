"""`manage.py audit_verify [--workspace SLUG]`: check each workspace's audit hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import audit_verify_workspace
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Verify the audit log's hash chain of every workspace (or one); exits non-zero if one is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Slug of the one workspace to check")

    def handle(self, *args: Any, **options: Any) -> None:
        workspaces = Workspace.objects.order_by("slug")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        broken = 0
        for workspace in workspaces:
            result = audit_verify_workspace(workspace_id=workspace.pk)
            if result.ok:
                self.stdout.write(f"OK {workspace.slug}: {result.checked} events")
            else:
                broken += 1
                self.stdout.write(f"BROKEN {workspace.slug} at seq {result.seq}: {result.problem}")
        if broken:
            raise CommandError(f"{broken} workspace chain(s) broken.")

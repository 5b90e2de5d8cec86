"""`manage.py audit_verify [--workspace SLUG] [--file EXPORT]`: check audit hash chains.

Without --file it checks the database (from the genesis, or from the latest retention
checkpoint); with --file it checks an export (JSON Lines range, or one ticket's JSON) offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.export import verify_export_file
from audit.services import audit_verify_workspace
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Verify the audit log's hash chain of every workspace (or one); exits non-zero if one is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Slug of the one workspace to check")
        parser.add_argument("--file", help="Verify this export file instead of the database")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["file"]:
            self._verify_file(Path(options["file"]))
            return
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

    def _verify_file(self, path: Path) -> None:
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        check = verify_export_file(path)
        start = check.header.get("start_seq")
        if check.ok:
            where = f" from seq {start}" if start else ""
            self.stdout.write(f"OK {path}: {check.result.checked} events{where}")
            return
        self.stdout.write(f"BROKEN {path} at seq {check.result.seq}: {check.result.problem}")
        raise CommandError("The export file does not verify.")

"""`manage.py audit_verify [--workspace SLUG] [--file EXPORT]`: check audit hash chains.

Without --file it checks the database (from the genesis, or from the latest retention
checkpoint) and compares it with the chain heads anchored outside it (audit/anchor.py): the
anchor file's signatures, then per workspace truncation, re-hashing and forged checkpoints.
With --file it checks an export (JSON Lines range, or one ticket's JSON) offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.anchor import AnchorLog, anchor_log_read, verify_anchored
from audit.export import verify_export_file
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
        log = self._anchor_log()
        broken = 0
        failures = []
        if log is not None and log.problems:
            failures.append("the anchor file does not verify")
            for problem in log.problems:
                self.stdout.write(f"BROKEN anchor file {log.path}: {problem}")
        for workspace in workspaces:
            anchors = log.for_workspace(workspace.pk) if log is not None else []
            result = verify_anchored(workspace_id=workspace.pk, anchors=anchors)
            if result.ok:
                anchored = f", anchored through seq {max(a.seq for a in anchors)}" if anchors else ""
                self.stdout.write(f"OK {workspace.slug}: {result.checked} events{anchored}")
            else:
                broken += 1
                self.stdout.write(f"BROKEN {workspace.slug} at seq {result.seq}: {result.problem}")
        if broken:
            failures.insert(0, f"{broken} workspace chain(s) broken")
        if failures:
            raise CommandError("; ".join(failures) + ".")

    def _anchor_log(self) -> AnchorLog | None:
        try:
            log = anchor_log_read()
        except ImproperlyConfigured as exc:
            self.stderr.write(f"Anchors not checked: {exc}")
            return None
        if not log.exists:
            self.stderr.write(f"No anchor file at {log.path} yet: run `manage.py audit_anchor` (also scheduled).")
        return log

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

"""`manage.py audit_prune --workspace SLUG [--before DATE] --archive OUT.jsonl`: retention.

Archives (a verified export) first, then deletes; the chain keeps verifying from a checkpoint.
Without --before the cutoff is now minus OASIS_AUDIT_RETENTION_DAYS; unset keeps everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.export import audit_prune, parse_bound, prune_cutoff
from audit.services import Actor, audit_verify_workspace
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Archive then prune a workspace's audit events older than a date, keeping the chain verifiable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Slug of the workspace")
        parser.add_argument("--before", help="Prune events before this date or datetime (default: retention days)")
        parser.add_argument("--archive", required=True, help="Where to write the archive (.jsonl); must not exist")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        archive = Path(options["archive"])
        if archive.exists():
            raise CommandError(f"{archive} exists; archives are never overwritten.")
        try:
            before = prune_cutoff(before=parse_bound(options["before"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if before is None:
            self.stdout.write(
                "Retention keeps audit events forever (OASIS_AUDIT_RETENTION_DAYS unset): nothing pruned."
            )
            return
        try:
            result = audit_prune(workspace=workspace, before=before, archive=archive, actor=Actor.system("audit_prune"))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        if not result.pruned or result.checkpoint is None:
            self.stdout.write(f"Nothing older than {before.isoformat()} in {workspace.slug}.")
            return
        check = audit_verify_workspace(workspace_id=workspace.pk)
        self.stdout.write(
            f"Archived and pruned {result.pruned} events of {workspace.slug} through seq {result.checkpoint.seq} "
            f"to {archive}; chain {'OK' if check.ok else 'BROKEN'} ({check.checked} events remain)."
        )
        if not check.ok:
            raise CommandError(f"Chain broken at seq {check.seq}: {check.problem}")

"""`manage.py audit_export --workspace SLUG [--since D] [--until D] OUT.jsonl`: export a chain range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.export import parse_bound, verify_export_file, write_workspace_export
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Export a workspace's audit events (optionally a date range) as JSON Lines with the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Slug of the workspace")
        parser.add_argument("--since", help="First day or datetime included (ISO)")
        parser.add_argument("--until", help="Last day included, or a datetime excluded (ISO)")
        parser.add_argument("out", help="Path of the .jsonl file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        try:
            since = parse_bound(options["since"])
            until = parse_bound(options["until"], end=True)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        path = Path(options["out"])
        write_workspace_export(workspace=workspace, path=path, since=since, until=until)
        check = verify_export_file(path)
        if not check.ok:
            raise CommandError(f"Exported, but the file does not verify: {check.result.problem} at {check.result.seq}")
        self.stdout.write(f"Exported {check.result.checked} events of {workspace.slug} to {path}")

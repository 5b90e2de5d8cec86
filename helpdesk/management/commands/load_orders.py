"""`manage.py load_orders FILE --workspace SLUG`: load the built-in shop's orders from JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import Actor
from helpdesk.models import Workspace
from helpdesk.shop import orders_load


class Command(BaseCommand):
    help = 'Load orders ({"orders": [...]}, the DESIGN.md format) into a workspace; all or nothing.'

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="Path to the orders JSON file")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from None
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from None
        try:
            result = orders_load(workspace=workspace, data=data, actor=Actor.system("load_orders"))
        except ValidationError as exc:
            for message in exc.messages:
                self.stderr.write(message)
            raise CommandError(f"{len(exc.messages)} problem(s) in {path}; nothing was loaded.") from None
        self.stdout.write(
            f"Loaded {result.total} orders into {workspace.slug}: "
            f"{result.created} new, {result.updated} updated, {result.items} items."
        )

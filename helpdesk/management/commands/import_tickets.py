"""manage.py import_tickets PATH --workspace SLUG: a one-off import of a shop's tickets into its inbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import Actor
from helpdesk.models import Workspace
from helpdesk.ticket_import import FORMATS, TicketFormatError, read_tickets_file
from helpdesk.ticket_import.inbox import tickets_import


def column_mapping(pairs: list[str]) -> dict[str, str] | None:
    """--map body=Description --map customer_email="Requester email" -> {field: column}."""
    if not pairs:
        return None
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise CommandError(f"--map {pair!r}: write FIELD=COLUMN, e.g. body=Description")
        mapping[name.strip()] = column.strip()
    return mapping


class Command(BaseCommand):
    help = (
        "Import existing tickets (JSON Lines, a Zendesk/Freshdesk/Help Scout export, a CSV, an mbox file or a "
        "Maildir) into a workspace's inbox, with their replies. No AI run starts and nothing is e-mailed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--format", default="auto", choices=["auto", *FORMATS])
        parser.add_argument("--map", action="append", default=[], help="CSV column for a field: FIELD=COLUMN")
        parser.add_argument(
            "--support-address",
            action="append",
            default=[],
            help="a mailbox's own address (its messages are your agents' replies); default: the workspace's",
        )
        parser.add_argument("--dry-run", action="store_true", help="check the file and report; import nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace with slug {options['workspace']!r}")
        addresses = options["support_address"] or [workspace.reply_address]
        try:
            parsed = read_tickets_file(
                options["path"],
                fmt=options["format"],
                csv_mapping=column_mapping(options["map"]),
                support_addresses=addresses,
            )
        except TicketFormatError as exc:
            raise CommandError(str(exc)) from None
        for error in parsed.errors:
            self.stderr.write(f"skipped {error}")
        if options["dry_run"]:
            self.stdout.write(
                f"{parsed.format}: {len(parsed.tickets)} tickets to import, {len(parsed.errors)} rows with errors"
            )
            return
        result = tickets_import(
            workspace=workspace, parsed=parsed, actor=Actor.system("import_tickets"), source=str(options["path"])
        )
        self.stdout.write(f"{parsed.format}: {result.summary()}")

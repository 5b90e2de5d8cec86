"""Issue (or re-fetch) the invoices of a month: `manage.py invoices_generate 2026-01 [--workspace acme]`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.services import Actor
from billing.services import invoice_generate
from helpdesk.models import Workspace


class Command(BaseCommand):
    help = "Issue the invoices of a finished month (idempotent: a re-run prints the same invoices)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("period", help="YYYY-MM")
        parser.add_argument("--workspace", help="Slug of one workspace (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            period = datetime.strptime(options["period"], "%Y-%m")
        except ValueError:
            raise CommandError("period must look like 2026-01") from None
        workspaces = Workspace.objects.order_by("id")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace {options['workspace']!r}.")
        for workspace in workspaces:
            try:
                invoice = invoice_generate(
                    workspace=workspace, year=period.year, month=period.month, actor=Actor.system("manage.py")
                )
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(
                f"{invoice.display_number} {workspace.slug} {invoice.period:%Y-%m} lines={invoice.line_count} "
                f"total={invoice.total} {invoice.currency}"
            )

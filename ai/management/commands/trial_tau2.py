"""manage.py trial_tau2: build trial inputs from ../shared/data/tau2 (retail or banking_knowledge)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ai.trial.adapters.tau2 import build_banking, build_retail, retail_workspace
from ai.trial.inputs import parse_datetime_text


class Command(BaseCommand):
    help = "Write help center, tickets and orders files for a trial from the tau2 public data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("domain", choices=["retail", "banking"])
        parser.add_argument("--out", required=True, help="Folder for the generated inputs.")
        parser.add_argument("--now", required=True, help="ISO 8601: synthetic order dates are relative to it.")
        parser.add_argument("--split", default="", help="retail: train or test (split_tasks.json).")
        parser.add_argument("--limit", type=int, default=None)
        parser.add_argument("--workspace", default="", help="retail: create/prepare this workspace (tools on).")

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_datetime_text(options["now"], name="--now")
        out = Path(options["out"])
        if options["domain"] == "retail":
            files = build_retail(out_dir=out, now=now, split=options["split"] or None, limit=options["limit"])
        else:
            files = build_banking(out_dir=out, now=now, limit=options["limit"])
        self.stdout.write(f"{len(files.task_ids)} tickets: {files.tickets}\nhelp center: {files.helpcenter}")
        if options["workspace"] and options["domain"] == "retail":
            retail_workspace(options["workspace"])
            self.stdout.write(f"workspace {options['workspace']}: retail tools enabled")
        if files.orders:
            self.stdout.write(f"orders: {files.orders}")

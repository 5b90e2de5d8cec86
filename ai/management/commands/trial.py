"""manage.py trial: run the Agent in shadow mode on a help center and a batch of tickets.

Nothing is sent, executed or billed; the report (DESIGN.md "Trial") goes to --out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ai.trial.inputs import InputError
from ai.trial.report import ordered
from ai.trial.runner import TrialParams, trial_create, trial_execute
from audit.services import Actor
from helpdesk.models import Workspace
from helpdesk.services import workspace_create


def write_report(report: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(ordered(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class Command(BaseCommand):
    help = "Shadow trial: import a help center, orders and tickets, run the Agent without sending, write a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace slug (created if it does not exist).")
        parser.add_argument("--helpcenter", required=True, help="Markdown/HTML folder or a Zendesk export.")
        parser.add_argument("--tickets", required=True, help="JSON Lines, one ticket a line.")
        parser.add_argument("--orders", default="", help="Orders JSON ({'orders': [...]}).")
        parser.add_argument("--now", default="", help="ISO 8601 clock for policy windows (return window).")
        parser.add_argument("--sample", type=int, default=None, help="Run N tickets of the file (a fixed sample).")
        parser.add_argument("--out", required=True, help="Where to write the report JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["workspace"]
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            workspace = workspace_create(name=slug, slug=slug, actor=Actor.system("trial"))
            self.stdout.write(f"created workspace {slug} (its mode stays {workspace.mode}; the trial runs the Agent)")
        params = TrialParams(
            helpcenter=str(Path(options["helpcenter"]).resolve()),
            tickets=str(Path(options["tickets"]).resolve()),
            orders=str(Path(options["orders"]).resolve()) if options["orders"] else "",
            now=options["now"],
            sample=options["sample"],
        )
        try:
            trial = trial_create(workspace=workspace, params=params)
        except (InputError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        trial = trial_execute(trial_id=trial.pk)
        if trial.status != "done":
            raise CommandError(f"trial {trial.pk} failed: {trial.error}")
        summary = trial.report["summary"]
        for error in summary["input_errors"]:
            self.stderr.write(f"skipped {error}")
        out = Path(options["out"])
        write_report(trial.report, out)
        decisions = ", ".join(f"{k} {v}" for k, v in summary["by_decision"].items())
        cost = summary["cost"]
        self.stdout.write(
            f"trial {trial.pk}: {summary['tickets']} tickets; {decisions}; "
            f"would autosend {summary['would_autosend_rate']:.0%} at the current thresholds\n"
            f"cost of a month ({cost['currency']}): per seat {cost['per_seat']}, per attempt {cost['per_attempt']}, "
            f"per outcome {cost['per_outcome']}\n"
            f"report: {out}"
        )

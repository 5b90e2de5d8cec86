"""manage.py import_helpcenter PATH|URL --workspace SLUG [--index-now]"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ai.index import index_articles
from audit.services import Actor
from helpdesk.helpcenter_crawl.sync import source_connect, sync_queue, sync_run
from helpdesk.helpcenter_import import import_helpcenter
from helpdesk.models import SourceKind, SyncStatus, Workspace


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal, sparse otherwise)."""

    def __init__(self, label: str, stream: Any = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if not self.tty and percent // 10 == self.last // 10 and done != total:
            return
        if self.tty and percent == self.last and done != total:
            return
        self.last = percent
        filled = percent * 30 // 100
        bar = "#" * filled + "-" * (30 - filled)
        end = "\n" if done == total or not self.tty else ""
        self.stream.write(f"\r{self.label} [{bar}] {done}/{total}{end}")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import a help center into a workspace: a Markdown folder, HTML files or a Zendesk articles export, "
        "or a URL (a Zendesk Help Center through its API, or any site through its sitemap or links)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="a folder or file, or the help center's http(s) URL")
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--kind", choices=[k.value for k in SourceKind], default=SourceKind.AUTO)
        parser.add_argument("--locale", default="", help="Zendesk locale (default: the help center's own)")
        parser.add_argument("--max-pages", type=int, default=None, help="page cap of a URL import")
        parser.add_argument(
            "--resync-hours", type=int, default=24, help="re-sync a URL every N hours (0: only by hand)"
        )
        parser.add_argument(
            "--index-now",
            action="store_true",
            help="embed the changed articles in this process (default: queue them for the django-q2 worker)",
        )

    def _raw_stderr(self) -> Any:
        # The bar redraws one line with "\r"; OutputWrapper would append a newline to each write.
        return getattr(self.stderr, "_out", sys.stderr)

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace with slug {options['workspace']!r}")
        if str(options["path"]).startswith(("http://", "https://")):
            self._from_url(workspace, options)
            return
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        index_now: bool = options["index_now"]
        report = import_helpcenter(
            workspace=workspace,
            path=path,
            actor=Actor.system("import_helpcenter"),
            progress=ProgressBar("importing", self._raw_stderr()),
            schedule_index=not index_now,
        )
        self.stdout.write(report.summary())
        if index_now and report.changed_ids:
            result = index_articles(
                article_ids=report.changed_ids, progress=ProgressBar("indexing", self._raw_stderr())
            )
            self.stdout.write(
                f"indexed: {result.embedded} passages embedded, {result.kept} kept, {result.deleted} removed"
            )
            for article_id, reason in result.failed.items():
                self.stderr.write(f"index failed for article {article_id}: {reason}")
        elif report.changed_ids:
            self.stdout.write(f"{len(report.changed_ids)} articles queued for indexing")

    def _from_url(self, workspace: Workspace, options: dict[str, Any]) -> None:
        actor = Actor.system("import_helpcenter")
        try:
            source = source_connect(
                workspace=workspace,
                url=options["path"],
                actor=actor,
                kind=options["kind"],
                locale=options["locale"],
                page_cap=options["max_pages"] or settings.OASIS_CRAWL_MAX_PAGES,
                resync_hours=options["resync_hours"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        queued = sync_queue(source=source, actor=actor)
        bar = ProgressBar("crawling", self._raw_stderr())
        sync = sync_run(sync_id=queued.pk, actor=actor, progress=bar, schedule_index=not options["index_now"])
        if sync.status != SyncStatus.DONE:
            raise CommandError(f"{source.url}: {sync.error}")
        report = sync.report
        self.stdout.write(
            ", ".join(
                f"{k}: {report[k]}" for k in ("pages", "created", "updated", "unchanged", "failed", "unpublished")
            )
        )
        for entry in report["skipped"]:
            self.stdout.write(f"skipped {entry['url']}: {entry['reason']}")
        for entry in report["failed"]:
            self.stdout.write(f"failed  {entry['page']}: {entry['reason']}")
        if options["index_now"] and report["changed_article_ids"]:
            index_articles(
                article_ids=report["changed_article_ids"], progress=ProgressBar("indexing", self._raw_stderr())
            )

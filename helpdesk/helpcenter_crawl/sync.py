"""Connecting a help center by URL and keeping it in step: the services and the django-q2 tasks.

`source_connect` records the source (audited); `sync_start` queues a sync (a task after commit);
`sync_run` crawls (helpdesk.helpcenter_crawl.site / .zendesk), upserts the pages as articles in
one transaction (a page whose content hash is unchanged is left alone, so only changed pages are
re-indexed), unpublishes the source's articles it no longer has (drafts, never deleted) and audits
the sync. A crawl that fails as a whole (start page or API unreachable, robots.txt unreadable)
changes nothing: a site that is down for an hour must not empty the help center.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.services import Actor, audit_record
from helpdesk.helpcenter_crawl.fetch import Fetcher
from helpdesk.helpcenter_crawl.site import CrawlError, CrawlResult, crawl_site
from helpdesk.helpcenter_crawl.zendesk import crawl_zendesk, is_zendesk
from helpdesk.helpcenter_import import ImportReport, ParsedArticle, Progress, import_articles
from helpdesk.models import Article, HelpCenterSource, HelpCenterSync, SourceKind, SyncStatus, Workspace

logger = logging.getLogger(__name__)
MAX_REPORTED = 500


@transaction.atomic
def source_connect(
    *,
    workspace: Workspace,
    url: str,
    actor: Actor,
    kind: str = SourceKind.AUTO,
    locale: str = "",
    page_cap: int = 500,
    resync_hours: int = 24,
    source: HelpCenterSource | None = None,
) -> HelpCenterSource:
    """Record the workspace's help center at `url`, or update `source` (an edit, which may change
    its URL) or the source already at that URL."""
    rows = HelpCenterSource.objects.select_for_update().filter(workspace=workspace)
    found = (rows.filter(pk=source.pk) if source is not None else rows.filter(url=url)).first()
    source = found or HelpCenterSource(workspace=workspace, url=url)
    source.url = url
    source.kind, source.locale, source.page_cap, source.resync_hours = kind, locale, page_cap, resync_hours
    source.full_clean(validate_unique=False)
    source.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="helpcenter.source_connected",
        data={"source": source.pk, "url": url, "kind": kind, "page_cap": page_cap, "resync_hours": resync_hours},
    )
    return source


@transaction.atomic
def sync_queue(*, source: HelpCenterSource, actor: Actor, user_id: int | None = None) -> HelpCenterSync:
    """A sync of the source, queued and audited; the caller runs it (`sync_run`) or schedules it."""
    sync = HelpCenterSync.objects.create(source=source, requested_by_id=user_id, total=source.page_cap)
    audit_record(
        workspace=source.workspace,
        actor=actor,
        kind="helpcenter.sync_queued",
        data={"source": source.pk, "sync": sync.pk},
    )
    return sync


@transaction.atomic
def sync_start(*, source: HelpCenterSource, actor: Actor, user_id: int | None = None) -> HelpCenterSync:
    """Queue a sync of the source; the crawl runs in django-q2 after commit."""
    sync = sync_queue(source=source, actor=actor, user_id=user_id)
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task("helpdesk.helpcenter_crawl.sync.sync_task", sync.pk, task_name=f"helpcenter-sync-{sync.pk}")
    )
    return sync


def sync_task(sync_id: int) -> str:
    """django-q2 entry point: tasks take ids."""
    return str(sync_run(sync_id=sync_id, actor=Actor.system("helpcenter-sync")).status)


def crawl(source: HelpCenterSource, *, fetcher: Fetcher, progress: Progress | None = None) -> CrawlResult:
    kind = source.kind
    if kind == SourceKind.AUTO:
        kind = SourceKind.ZENDESK if is_zendesk(fetcher, source.url) else SourceKind.SITE
    if kind == SourceKind.ZENDESK:
        return crawl_zendesk(
            url=source.url, fetcher=fetcher, locale=source.locale, page_cap=source.page_cap, progress=progress
        )
    return crawl_site(start=source.url, fetcher=fetcher, page_cap=source.page_cap, progress=progress)


def _as_source(source: HelpCenterSource, items: list[ParsedArticle]) -> list[ParsedArticle]:
    from dataclasses import replace

    return [replace(item, source=source.article_source) for item in items]


def sync_run(
    *,
    sync_id: int,
    actor: Actor,
    fetcher: Fetcher | None = None,
    schedule_index: bool = True,
    progress: Progress | None = None,
) -> HelpCenterSync:
    """Run one queued sync to the end (the command and the trial call it inline, the page via django-q2)."""
    claimed = HelpCenterSync.objects.filter(pk=sync_id, status=SyncStatus.QUEUED).update(status=SyncStatus.RUNNING)
    sync = HelpCenterSync.objects.select_related("source__workspace").get(pk=sync_id)
    if not claimed:
        return sync  # already run (a retried task) or running elsewhere
    source = sync.source
    fetcher = fetcher or Fetcher()

    def track(done: int, total: int) -> None:
        HelpCenterSync.objects.filter(pk=sync_id).update(progress=done, total=max(total, done))
        if progress is not None:
            progress(done, total)

    try:
        found = crawl(source, fetcher=fetcher, progress=track)
    except CrawlError as exc:
        return _fail(sync, str(exc), actor)
    except Exception as exc:
        logger.exception("help center sync %s failed", sync_id)
        return _fail(sync, f"{type(exc).__name__}: {exc}", actor)
    finally:
        fetcher.close()
    report = import_articles(
        workspace=source.workspace,
        items=_as_source(source, found.articles),
        report=ImportReport(),
        actor=actor,
        audit={"url": source.url, "source": source.pk, "sync": sync.pk, "pages": found.pages},
        missing_of=Article.objects.filter(workspace=source.workspace, source=source.article_source),
        unpublish_missing=True,
        schedule_index=schedule_index,
    )
    summary = {
        **report.counts(),
        "pages": found.pages,
        "requests": found.requests,
        "discovery": found.discovery,
        "skipped": [{"url": url, "reason": reason} for url, reason in found.skipped[:MAX_REPORTED]],
        "skipped_total": len(found.skipped),
        "failed": [{"page": origin, "reason": reason} for origin, reason in report.failed[:MAX_REPORTED]],
        "unpublished": report.unpublished[:MAX_REPORTED],
        "changed_article_ids": report.changed_ids,
    }
    now = timezone.now()
    HelpCenterSync.objects.filter(pk=sync.pk).update(
        status=SyncStatus.DONE, report=summary, finished_at=now, progress=F("total")
    )
    HelpCenterSource.objects.filter(pk=source.pk).update(last_synced_at=now)
    sync.refresh_from_db()
    return sync


def _fail(sync: HelpCenterSync, error: str, actor: Actor) -> HelpCenterSync:
    with transaction.atomic():
        HelpCenterSync.objects.filter(pk=sync.pk).update(
            status=SyncStatus.FAILED, error=error[:4000], finished_at=timezone.now()
        )
        audit_record(
            workspace=sync.source.workspace,
            actor=actor,
            kind="helpcenter.sync_failed",
            data={"source": sync.source_id, "sync": sync.pk, "error": error[:500]},
        )
    sync.refresh_from_db()
    return sync


def resync_due() -> int:
    """The schedule's task: queue a sync of every source whose re-sync time has come."""
    now = timezone.now()
    queued = 0
    for source in HelpCenterSource.objects.filter(resync_hours__gt=0).select_related("workspace"):
        due = source.last_synced_at is None or source.last_synced_at + timedelta(hours=source.resync_hours) <= now
        busy = source.syncs.filter(Q(status=SyncStatus.QUEUED) | Q(status=SyncStatus.RUNNING)).exists()
        if due and not busy:
            sync_start(source=source, actor=Actor.system("helpcenter-resync"))
            queued += 1
    return queued

"""A help center by URL, against local fixture sites: a Zendesk-shaped API, a sitemap site, a site
without a sitemap, robots.txt exclusions, a redirect loop, a 500, a slow page, a 30 MB page and
non-HTML links; re-sync by content hash, removed pages unpublished, every sync audited."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.helpcenter_crawl.fetch import Fetcher
from helpdesk.helpcenter_crawl.sync import resync_due, source_connect, sync_run
from helpdesk.models import Article, ArticleStatus, HelpCenterSource, HelpCenterSync, SyncStatus
from helpdesk.tests.site_server import RETURNS, SHIPPING, Reply, html, zendesk_site

pytest_plugins = ["helpdesk.tests.site_server"]

SYSTEM = Actor.system("test")
HUGE = 30 * 1024 * 1024


def fetcher() -> Fetcher:
    return Fetcher(delay=0.0, timeout=1.5, max_bytes=5 * 1024 * 1024)


def run(source):
    sync = HelpCenterSync.objects.create(source=source, total=source.page_cap)
    return sync_run(sync_id=sync.pk, actor=SYSTEM, fetcher=fetcher(), schedule_index=False)


def sitemap_site(serve):
    site = serve({})
    pages = [
        "/help/returns",
        "/help/shipping",
        "/help/private/salaries",
        "/help/loop-a",
        "/help/broken",
        "/help/slow",
        "/help/huge",
        "/help/size-guide.pdf",
        "/help/manual",
        "/help/moved",
    ]
    urls = "".join(f"<url><loc>{site.url}{p}</loc></url>" for p in pages)
    site.routes.update(
        {
            "/robots.txt": Reply(
                f"User-agent: *\nDisallow: /help/private/\nSitemap: {site.url}/sitemap_index.xml\n",
                content_type="text/plain",
            ),
            "/sitemap_index.xml": Reply(
                f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                f"<sitemap><loc>{site.url}/sitemap-help.xml</loc></sitemap></sitemapindex>",
                content_type="application/xml",
            ),
            "/sitemap-help.xml": Reply(
                f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
                content_type="application/xml",
            ),
            "/help/returns": html("Returns and refunds", RETURNS),
            "/help/shipping": html("Shipping", SHIPPING),
            "/help/private/salaries": html("Salaries", "<p>Secret.</p>"),
            "/help/loop-a": Reply(status=302, headers=(("Location", "/help/loop-b"),)),
            "/help/loop-b": Reply(status=302, headers=(("Location", "/help/loop-a"),)),
            "/help/broken": Reply("oops", status=500, content_type="text/plain"),
            "/help/slow": Reply(html("Slow", RETURNS).body, delay=4.0),
            "/help/huge": Reply(b"<p>" + b"x" * 65536, declared_length=HUGE, repeat=HUGE // 65536),
            "/help/size-guide.pdf": Reply(b"%PDF-1.4", content_type="application/pdf"),
            "/help/manual": Reply(b"%PDF-1.4", content_type="application/pdf"),
            "/help/moved": Reply(status=301, headers=(("Location", "/help/gift-cards"),)),
            "/help/gift-cards": html(
                "Gift cards",
                "<p>Gift cards never expire and can be used on any order in our shop, online or in store.</p>",
            ),
        }
    )
    return site


def test_it_crawls_a_sitemap_site_and_reports_every_page_it_left_out(workspace, serve):
    site = sitemap_site(serve)
    source = source_connect(workspace=workspace, url=f"{site.url}/help/", actor=SYSTEM)
    started = time.monotonic()
    sync = run(source)
    assert sync.status == SyncStatus.DONE, sync.error
    report = sync.report
    assert report["discovery"] == "sitemap" and report["created"] == 3
    skipped = {entry["url"].removeprefix(site.url): entry["reason"] for entry in report["skipped"]}
    assert skipped["/help/private/salaries"] == "disallowed by robots.txt"
    assert skipped["/help/loop-a"].startswith("redirect loop")
    assert skipped["/help/broken"] == "HTTP 500"
    assert skipped["/help/slow"] in ("timed out", "the page took longer than 1.5 s")
    assert skipped["/help/huge"] == f"the page is {HUGE:,} bytes; the limit is {5 * 1024 * 1024:,}"
    assert skipped["/help/size-guide.pdf"] == "not an HTML page (by its name)"
    assert skipped["/help/manual"] == "not an HTML page (application/pdf)"
    # The 30 MB page was refused from its headers: far less than it declared was ever sent.
    assert site.sent.get("/help/huge", 0) < 8 * 1024 * 1024
    assert "/help/private/salaries" not in site.hits and time.monotonic() - started < 20
    articles = {a.title: a for a in Article.objects.filter(workspace=workspace)}
    assert sorted(articles) == ["Gift cards", "Returns and refunds", "Shipping"]
    returns = articles["Returns and refunds"]
    assert returns.url == f"{site.url}/help/returns" and returns.source == f"url:{source.pk}"
    assert "30 days" in returns.body
    for noise in ("cookies", "Contact us", "All rights reserved", "<h1"):
        assert noise not in returns.body
    assert articles["Gift cards"].url == f"{site.url}/help/gift-cards"  # where the redirect landed
    assert sync.progress == sync.total and sync.total >= 3
    event = AuditEvent.objects.get(workspace=workspace, kind="helpcenter.imported")
    assert (event.data["source"], event.data["created"]) == (source.pk, 3)


def test_it_follows_links_within_the_folder_when_there_is_no_sitemap(workspace, serve):
    site = serve(
        {
            "/docs/": html(
                "Docs",
                "<p>Our help center.</p>"
                '<a href="/docs/returns">Returns</a> <a href="returns#window">Again</a> <a href="/blog/news">News</a>'
                ' <a href="https://elsewhere.test/docs/x">Away</a> <a href="mailto:help@acme.test">Mail</a>'
                ' <a href="/docs/shipping">Shipping</a> <a href="/docs/faq">FAQ</a>',
            ),
            "/docs/returns": html("Returns and refunds", RETURNS),
            "/docs/shipping": html("Shipping", SHIPPING),
            "/docs/faq": html("FAQ", RETURNS),
            "/blog/news": html("News", RETURNS),
        }
    )
    source = source_connect(workspace=workspace, url=f"{site.url}/docs/", actor=SYSTEM, page_cap=3)
    sync = run(source)
    assert sync.status == SyncStatus.DONE, sync.error
    assert sync.report["discovery"] == "links"
    assert "/blog/news" not in site.hits
    titles = set(Article.objects.values_list("title", flat=True))
    assert {"Returns and refunds", "Shipping"} <= titles and "FAQ" not in titles and "News" not in titles
    reasons = {e["url"].removeprefix(site.url): e["reason"] for e in sync.report["skipped"]}
    assert reasons["/docs/faq"] == "over the page cap of 3"


def test_it_imports_a_zendesk_help_center_through_its_api_from_the_command_line(workspace, serve, settings):
    settings.OASIS_CRAWL_DELAY = 0.0
    site = zendesk_site(serve)
    out = StringIO()
    call_command("import_helpcenter", f"{site.url}/hc/en-us", "--workspace", "acme", stdout=out, stderr=StringIO())
    assert "pages: 4, created: 3" in out.getvalue()
    assert "article 9: no title" in out.getvalue()
    returns = Article.objects.get(workspace=workspace, external_id="zendesk:1")
    assert (returns.url, returns.breadcrumb) == (f"{site.url}/hc/en-us/articles/1", "Orders > Returns")
    assert Article.objects.get(external_id="zendesk:3").status == ArticleStatus.DRAFT
    assert AuditEvent.objects.filter(workspace=workspace, kind="helpcenter.sync_queued").count() == 1
    with pytest.raises(CommandError, match=r"no page could be read .*disallowed by robots\.txt"):
        call_command("import_helpcenter", f"{site.url}/hc/", "--workspace", "acme", "--kind", "site", stdout=out)


def test_it_resyncs_changed_pages_only_and_unpublishes_removed_ones(workspace, serve):
    first = zendesk_site(serve)
    source = source_connect(workspace=workspace, url=f"{first.url}/hc/en-us", actor=SYSTEM, kind="zendesk")
    assert run(source).report["created"] == 3
    changed = RETURNS.replace("30 days", "45 days")
    zendesk_site(serve, returns_body=changed, with_shipping=False, site=first)
    second = run(source)
    assert second.status == SyncStatus.DONE, second.error
    report = second.report
    assert (report["updated"], report["unchanged"]) == (1, 1)
    assert report["unpublished"] == [f"Shipping ({first.url}/hc/en-us/articles/2)"]
    shipping = Article.objects.get(workspace=workspace, external_id="zendesk:2")
    assert shipping.status == ArticleStatus.DRAFT  # unpublished, never deleted
    assert "45 days" in Article.objects.get(external_id="zendesk:1").body
    assert Article.objects.get(external_id="zendesk:3").status == ArticleStatus.DRAFT
    assert shipping.pk in report["changed_article_ids"]
    assert AuditEvent.objects.filter(workspace=workspace, kind="helpcenter.imported").count() == 2


def test_a_crawl_that_fails_as_a_whole_changes_nothing(workspace, serve):
    site = zendesk_site(serve)
    source = source_connect(workspace=workspace, url=f"{site.url}/hc/en-us", actor=SYSTEM, kind="zendesk")
    run(source)
    before = list(Article.objects.values_list("pk", "status", "body"))
    site.routes.clear()
    site.routes["/api/v2/help_center/locales.json"] = Reply("down", status=500)
    failed = run(source)
    assert failed.status == SyncStatus.FAILED and "does not answer" in failed.error
    assert list(Article.objects.values_list("pk", "status", "body")) == before
    assert AuditEvent.objects.filter(workspace=workspace, kind="helpcenter.sync_failed").exists()
    broken = serve({"/robots.txt": Reply("boom", status=503)})
    other = source_connect(workspace=workspace, url=f"{broken.url}/help/", actor=SYSTEM, kind="site")
    assert "robots.txt could not be read" in run(other).error


def test_it_queues_the_sources_whose_resync_time_has_come(workspace, serve, django_capture_on_commit_callbacks):
    site = zendesk_site(serve)
    source = source_connect(workspace=workspace, url=f"{site.url}/hc/en-us", actor=SYSTEM, resync_hours=6)
    source_connect(workspace=workspace, url=f"{site.url}/manual/", actor=SYSTEM, resync_hours=0)
    with django_capture_on_commit_callbacks(execute=False):
        assert resync_due() == 1
        assert resync_due() == 0  # one queued already
    assert HelpCenterSync.objects.filter(source=source, status=SyncStatus.QUEUED).count() == 1


def test_a_manager_connects_a_help_center_in_the_admin_and_follows_its_sync(
    client, manager, outsider, workspace, serve, settings, django_capture_on_commit_callbacks
):
    settings.OASIS_CRAWL_DELAY = 0.0
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    site = zendesk_site(serve)
    client.login(username=manager.email, password="correct horse battery staple")
    form = {
        "workspace": workspace.pk,
        "url": f"{site.url}/hc/en-us",
        "kind": "zendesk",
        "locale": "",
        "page_cap": 50,
        "resync_hours": 24,
        "syncs-TOTAL_FORMS": 0,
        "syncs-INITIAL_FORMS": 0,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/helpdesk/helpcentersource/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    sync = HelpCenterSync.objects.get(source__workspace=workspace)
    assert sync.status == SyncStatus.DONE and sync.report["created"] == 3
    page = client.get(f"/admin/helpdesk/helpcentersync/{sync.pk}/change/").content.decode()
    assert 'progress max="100" value="100"' in page and "article 9: no title" in page
    outsider.is_staff = True
    outsider.save(update_fields=["is_staff"])
    client.login(username=outsider.email, password="correct horse battery staple")
    assert client.get(f"/admin/helpdesk/helpcentersync/{sync.pk}/change/").status_code in (302, 404)
    assert site.url not in client.get("/admin/helpdesk/helpcentersource/").content.decode()


def test_a_manager_who_edits_a_sources_url_in_the_admin_moves_that_source(client, manager, workspace):
    manager.is_staff = True
    manager.save(update_fields=["is_staff"])
    source = source_connect(workspace=workspace, url="https://help.acme.test/hc/en-us", actor=SYSTEM, kind="zendesk")
    client.login(username=manager.email, password="correct horse battery staple")
    form = {
        "workspace": workspace.pk,
        "url": "https://support.acme.test/hc/en-us",
        "kind": "zendesk",
        "locale": "",
        "page_cap": 50,
        "resync_hours": 24,
        "syncs-TOTAL_FORMS": 0,
        "syncs-INITIAL_FORMS": 0,
    }
    response = client.post(f"/admin/helpdesk/helpcentersource/{source.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(HelpCenterSource.objects.filter(workspace=workspace).values_list("pk", "url")) == [
        (source.pk, "https://support.acme.test/hc/en-us")
    ]

"""Any help-center site by URL: its sitemap (or, without one, its links), each page's main text.

The crawl stays on the start URL's host and, when it follows links, under the start URL's folder;
it reads `robots.txt` first (RFC 9309: a missing one allows everything, an unreachable one allows
nothing) and obeys it, honours a longer Crawl-delay, and stops at the page cap. Each page's main
content is extracted by trafilatura (navigation, headers, footers and cookie banners dropped) as
HTML and cleaned by the help center's own sanitizer. Every page left out is reported with why.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import trafilatura

from helpdesk.helpcenter_crawl.fetch import Fetcher, FetchError, Page, same_host
from helpdesk.helpcenter_import import (
    ImportFileError,
    ParsedArticle,
    Progress,
    check_article_body,
    drop_title_heading,
    first_heading,
)
from helpdesk.helpcenter_render import html_to_text, sanitize_html

SOURCE_WEB = "web"
MIN_WORDS = 15  # fewer words than this is a menu or a landing page, not an article
MAX_SITEMAPS = 20
NON_HTML = re.compile(
    r"\.(?:pdf|jpe?g|png|gif|svg|webp|ico|zip|gz|tar|mp[34]|mov|avi|docx?|xlsx?|pptx?|csv|css|js|json|xml|txt)$",
    re.IGNORECASE,
)


class CrawlError(Exception):
    """The site as a whole cannot be crawled (start page unreachable, robots.txt forbids it)."""


@dataclass
class CrawlResult:
    articles: list[ParsedArticle] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    pages: int = 0
    requests: int = 0
    discovery: str = ""  # "sitemap" or "links"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))


def _links(page: Page) -> _Links:
    parser = _Links()
    parser.feed(page.text())
    parser.close()
    return parser


def normalize(url: str) -> str:
    return urldefrag(url)[0]


def read_robots(fetcher: Fetcher, start: str) -> RobotFileParser:
    parts = urlsplit(start)
    robots = RobotFileParser()
    url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    robots.set_url(url)
    try:
        page = fetcher.get(url, accept="text/plain")
    except FetchError as exc:
        if str(exc).startswith("HTTP 4"):
            robots.parse([])  # no robots.txt: everything is allowed
            return robots
        raise CrawlError(f"robots.txt could not be read ({exc}); nothing is crawled without it") from None
    robots.parse(page.text().splitlines())
    return robots


def _sitemap_urls(fetcher: Fetcher, robots: RobotFileParser, start: str) -> list[str]:
    """Page URLs from the sitemaps robots.txt names, else /sitemap.xml (indexes followed)."""
    parts = urlsplit(start)
    queue = deque(robots.site_maps() or [f"{parts.scheme}://{parts.netloc}/sitemap.xml"])
    pages: list[str] = []
    read = 0
    while queue and read < MAX_SITEMAPS:
        url = queue.popleft()
        read += 1
        if not same_host(url, start):
            continue
        try:
            page = fetcher.get(url, accept="application/xml,text/xml")
            if b"<!ENTITY" in page.body or b"<!DOCTYPE" in page.body:
                continue  # a sitemap declares no entities; one that does is not read
            root = ET.fromstring(page.body)  # noqa: S314 (no DTD or entity reaches the parser)
        except (FetchError, ET.ParseError):
            continue
        locs = [el.text.strip() for el in root.iter() if el.tag.endswith("loc") and el.text]
        if root.tag.endswith("sitemapindex"):
            queue.extend(locs)
        else:
            pages.extend(locs)
    return list(dict.fromkeys(normalize(u) for u in pages if same_host(u, start)))


def _in_scope(url: str, start: str) -> bool:
    folder = urlsplit(start).path.rsplit("/", 1)[0] + "/"
    return same_host(url, start) and urlsplit(url).path.startswith(folder) and urlsplit(url).scheme in ("http", "https")


def extract_article(page: Page, *, origin: str) -> ParsedArticle:
    """The page's main content as a help-center article, or ImportFileError with the reason."""
    html = page.text()
    body = trafilatura.extract(
        html, output_format="html", include_formatting=True, include_links=True, include_tables=True, url=page.url
    )
    meta = trafilatura.extract_metadata(html)
    title = " ".join(str(getattr(meta, "title", "") or "").split())
    if not body:
        raise ImportFileError("no article text on the page")
    body = sanitize_html(re.sub(r"</?(?:html|body)[^>]*>", "", body)).strip()
    title = title or first_heading(body)
    body = drop_title_heading(body, title)
    if not title:
        raise ImportFileError("the page has no title")
    if len(html_to_text(body).split()) < MIN_WORDS:
        raise ImportFileError(f"fewer than {MIN_WORDS} words of article text")
    check_article_body(body)
    return ParsedArticle(
        origin=origin,
        title=title[:300],
        url=page.url[:500],
        external_id="web:" + hashlib.sha256(page.url.encode()).hexdigest()[:40],
        body=body,
        source=SOURCE_WEB,
    )


def crawl_site(*, start: str, fetcher: Fetcher, page_cap: int, progress: Progress | None = None) -> CrawlResult:
    result = CrawlResult()
    robots = read_robots(fetcher, start)
    delay = robots.crawl_delay(fetcher.user_agent)
    if delay is not None and float(delay) > fetcher.delay:
        fetcher.delay = float(delay)
    listed = _sitemap_urls(fetcher, robots, start)
    result.discovery = "sitemap" if listed else "links"
    queue: deque[str] = deque(listed or [normalize(start)])
    seen: set[str] = set(queue)
    total = min(len(listed), page_cap) if listed else page_cap
    for url in _drain(queue):
        if result.pages >= page_cap:
            result.skipped.append((url, f"over the page cap of {page_cap}"))
            continue
        if NON_HTML.search(urlsplit(url).path):
            result.skipped.append((url, "not an HTML page (by its name)"))
            continue
        if not robots.can_fetch(fetcher.user_agent, url):
            result.skipped.append((url, "disallowed by robots.txt"))
            continue
        try:
            page = fetcher.get(url)
        except FetchError as exc:
            if url == normalize(start) and not listed:
                raise CrawlError(f"the start page cannot be read: {exc}") from None
            result.skipped.append((url, str(exc)))
            continue
        result.pages += 1
        if progress:
            progress(result.pages, max(total, result.pages))
        if not page.is_html:
            result.skipped.append((url, f"not an HTML page ({page.content_type or 'no content type'})"))
            continue
        if not listed:
            for href in _links(page).hrefs:
                link = normalize(urljoin(page.url, href))
                if link not in seen and _in_scope(link, start):
                    seen.add(link)
                    queue.append(link)
        try:
            result.articles.append(extract_article(page, origin=url))
        except ImportFileError as exc:
            result.skipped.append((url, str(exc)))
    if not result.pages:
        # Nothing read (robots.txt forbids it all, every page failed): a sync must change nothing.
        why = "; ".join(f"{url}: {reason}" for url, reason in result.skipped[:3]) or "no page found"
        raise CrawlError(f"no page could be read ({why})")
    result.requests = fetcher.requests
    return result


def _drain(queue: deque[str]) -> Iterator[str]:
    while queue:
        yield queue.popleft()

"""A Zendesk Help Center through its public articles API.

`/api/v2/help_center/<locale>/articles.json` page by page (`next_page`), with the sections and
categories of the locale read once for each article's breadcrumb ("Category > Section"). Without
a locale the help center's default one is used (`/api/v2/help_center/locales.json`). Drafts are
imported as drafts (never published); every article keeps its `html_url`, which citations link to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from helpdesk.helpcenter_crawl.fetch import Fetcher, FetchError, same_host
from helpdesk.helpcenter_crawl.site import CrawlError, CrawlResult
from helpdesk.helpcenter_import import ImportFileError, Progress, zendesk_article
from oasis.hygiene import InputRejected, json_loads

MAX_API_PAGES = 200  # 100 articles a page: 20,000 articles


def api_root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _json(fetcher: Fetcher, url: str) -> dict[str, Any]:
    page = fetcher.get(url, accept="application/json")
    try:
        data = json_loads(page.body, where="Help Center API answer")
    except (InputRejected, ValueError) as exc:
        raise FetchError(f"not a Help Center API answer ({exc})") from None
    if not isinstance(data, dict):
        raise FetchError("not a Help Center API answer (not a JSON object)")
    return data


def is_zendesk(fetcher: Fetcher, url: str) -> bool:
    """Whether the site answers the Help Center API (what `kind="auto"` asks first)."""
    try:
        return isinstance(_json(fetcher, api_root(url) + "/api/v2/help_center/locales.json").get("locales"), list)
    except FetchError:
        return False


def default_locale(fetcher: Fetcher, root: str) -> str:
    try:
        data = _json(fetcher, root + "/api/v2/help_center/locales.json")
    except FetchError as exc:
        raise CrawlError(f"the Help Center API does not answer: {exc}") from None
    return str(data.get("default_locale") or "en-us")


def _pages(fetcher: Fetcher, first: str, key: str) -> Iterator[tuple[list[Any], int]]:
    url: str | None = first
    for _ in range(MAX_API_PAGES):
        if not url:
            return
        data = _json(fetcher, url)
        rows = data.get(key)
        if not isinstance(rows, list):
            raise FetchError(f"the answer has no {key!r} list")
        yield rows, int(data.get("count") or 0)
        nxt = data.get("next_page")
        url = str(nxt) if isinstance(nxt, str) and nxt and same_host(urljoin(first, nxt), first) else None


def _names(fetcher: Fetcher, root: str, locale: str, key: str) -> dict[Any, dict[str, Any]]:
    out: dict[Any, dict[str, Any]] = {}
    try:
        for rows, _ in _pages(fetcher, f"{root}/api/v2/help_center/{locale}/{key}.json?per_page=100", key):
            out.update({row.get("id"): row for row in rows if isinstance(row, dict)})
    except FetchError:
        return {}  # breadcrumbs are a nicety: the articles come in without them
    return out


def crawl_zendesk(
    *, url: str, fetcher: Fetcher, locale: str = "", page_cap: int = 10_000, progress: Progress | None = None
) -> CrawlResult:
    root = api_root(url)
    locale = locale or default_locale(fetcher, root)
    sections = _names(fetcher, root, locale, "sections")
    categories = _names(fetcher, root, locale, "categories")
    result = CrawlResult(discovery="zendesk-api")
    first = f"{root}/api/v2/help_center/{locale}/articles.json?per_page=100"
    try:
        for rows, count in _pages(fetcher, first, "articles"):
            for raw in rows:
                if len(result.articles) >= page_cap:
                    result.skipped.append((str(raw.get("html_url") or raw.get("id")), f"over the cap of {page_cap}"))
                    continue
                result.pages += 1
                section = sections.get(raw.get("section_id")) if isinstance(raw, dict) else None
                category = categories.get(section.get("category_id")) if section else None
                crumbs = [str(c.get("name")) for c in (category, section) if c and c.get("name")]
                try:
                    result.articles.append(
                        zendesk_article(raw, origin=f"{locale}#{raw.get('id')}", breadcrumb=" > ".join(crumbs))
                    )
                except ImportFileError as exc:
                    result.skipped.append((f"article {raw.get('id') if isinstance(raw, dict) else '?'}", str(exc)))
            if progress:
                progress(result.pages, max(count, result.pages))
    except FetchError as exc:
        if not result.pages:
            raise CrawlError(f"the Help Center API does not answer: {exc}") from None
        # A page of the listing failed half-way: what came is kept, nothing more is unpublished.
        raise CrawlError(f"the article list broke off after {result.pages} articles: {exc}") from None
    result.requests = fetcher.requests
    return result


__all__ = ["crawl_zendesk", "is_zendesk"]

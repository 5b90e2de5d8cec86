"""Fetching a shop's pages politely and safely.

One GET at a time per host, at least `delay` seconds apart; a page that takes longer than
`timeout` seconds in all (however slowly its bytes trickle in) is given up; a page declared larger
than `max_bytes` is refused from its headers, before its body is read, and one that streams past it
is cut off at the chunk that crosses it. Redirects are followed by hand, at most five, on the same
host only, and a redirect back to a URL already seen in the chain is a loop. Every failure is a
`FetchError` whose message is the reason the import report shows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings

MAX_REDIRECTS = 5
CHUNK = 64 * 1024


class FetchError(Exception):
    """A page could not be fetched; `str()` is the reason."""


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml")

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def same_host(a: str, b: str) -> bool:
    return urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


class Fetcher:
    def __init__(
        self,
        *,
        delay: float | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        user_agent: str | None = None,
    ) -> None:
        self.delay = settings.OASIS_CRAWL_DELAY if delay is None else delay
        self.timeout = settings.OASIS_CRAWL_TIMEOUT if timeout is None else timeout
        self.max_bytes = settings.OASIS_CRAWL_MAX_PAGE_BYTES if max_bytes is None else max_bytes
        self.user_agent = user_agent or settings.OASIS_CRAWL_USER_AGENT
        self.requests = 0
        self._pool = urllib3.PoolManager(retries=False, headers={"User-Agent": self.user_agent})
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def _wait_turn(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            wait = self._last.get(host, 0.0) + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last[host] = time.monotonic()

    def get(self, url: str, *, accept: str = "text/html,application/xhtml+xml,application/json,*/*;q=0.5") -> Page:
        seen = [url]
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            page_or_next = self._get_once(current, accept=accept)
            if isinstance(page_or_next, Page):
                return page_or_next
            target = urljoin(current, page_or_next)
            if not same_host(target, url):
                raise FetchError(f"redirects off the site (to {target})")
            if target in seen:
                raise FetchError("redirect loop (" + " -> ".join([*seen, target]) + ")")
            seen.append(target)
            current = target
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _get_once(self, url: str, *, accept: str) -> Page | str:
        """The page, or the Location it redirects to."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"not an http(s) URL: {url}")
        self._wait_turn(url)
        self.requests += 1
        deadline = time.monotonic() + self.timeout
        try:
            response = self._pool.request(
                "GET",
                url,
                headers={"Accept": accept},
                redirect=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(_network_reason(exc)) from None
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location", "")
                if not location:
                    raise FetchError(f"HTTP {response.status} without a Location")
                return location
            if response.status >= 400:
                raise FetchError(f"HTTP {response.status}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"the page is {int(declared):,} bytes; the limit is {self.max_bytes:,}")
            body = self._read(response, deadline)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            return Page(url=url, status=response.status, content_type=content_type, body=body)
        finally:
            response.release_conn()

    def _read(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            # read1: whatever has arrived, so a page trickling in byte by byte still meets the deadline.
            while chunk := response.read1(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"the page is larger than the limit of {self.max_bytes:,} bytes")
                if time.monotonic() > deadline:
                    raise FetchError(f"the page took longer than {self.timeout:g} s")
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(_network_reason(exc)) from None
        return b"".join(chunks)

    def close(self) -> None:
        self._pool.clear()


def _network_reason(exc: Exception) -> str:
    if isinstance(exc, urllib3.exceptions.TimeoutError | urllib3.exceptions.ReadTimeoutError):
        return "timed out"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, Exception):
        return _network_reason(exc.reason)
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        return "cannot connect"
    return f"network error ({type(exc).__name__})"

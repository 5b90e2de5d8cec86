"""Local HTTP servers serving fixture help centers (no network): each site on its own port.

A route is a path (with its query) mapped to a `Reply` or to a callable returning one; the server
counts what it sent for each path, so a test can prove a huge page was not read to its end.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds before the body is sent
    declared_length: int | None = None  # a Content-Length other than the body's (a huge page)
    repeat: int = 1  # the body sent this many times (a huge page without building it in memory)


def html(title: str, text: str, *, extra: str = "") -> Reply:
    return Reply(
        f"""<!doctype html><html><head><title>{title} | Acme Help</title></head><body>
<div class="cookie-banner" id="cookie-consent">We use cookies to improve your experience. Accept all cookies.</div>
<header><nav><a href="/">Home</a> <a href="/help/">Help center</a> <a href="/contact">Contact us</a></nav></header>
<main><article><h1>{title}</h1>{text}</article></main>{extra}
<footer>Copyright 2026 Acme Inc. All rights reserved. <a href="/privacy">Privacy</a></footer></body></html>"""
    )


def as_json(data: Any) -> Reply:
    return Reply(json.dumps(data), content_type="application/json")


Route = Reply | Callable[[], Reply]
RETURNS = "<p>You can return any unused item within 30 days after delivery for a full refund to your card.</p>"
SHIPPING = (
    "<h2>Delivery times</h2><p>Standard delivery takes 3 to 5 business days and express arrives the next day.</p>"
)


class Site:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.sent: dict[str, int] = {}
        self.hits: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                site.hits.append(self.path)
                route = site.routes.get(self.path)
                reply = route() if callable(route) else route
                if reply is None:
                    reply = Reply("not found", status=404, content_type="text/plain")
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                length = reply.declared_length if reply.declared_length is not None else len(body) * reply.repeat
                self.send_header("Content-Length", str(length))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    for _ in range(reply.repeat):
                        self.wfile.write(body)
                        site.sent[self.path] = site.sent.get(self.path, 0) + len(body)
                except (BrokenPipeError, ConnectionResetError):
                    return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], Site]]:
    sites: list[Site] = []

    def start(routes: dict[str, Route]) -> Site:
        site = Site(routes)
        sites.append(site)
        return site

    yield start
    for site in sites:
        site.stop()


def zendesk_site(
    serve: Callable[[dict[str, Route]], Site],
    *,
    returns_body: str = RETURNS,
    with_shipping: bool = True,
    site: Site | None = None,
) -> Site:
    """A Zendesk-shaped help center: its locales, sections, categories and two pages of articles."""
    site = site or serve({})

    def article(n: int, title: str, body: str, section: int, draft: bool = False) -> dict[str, object]:
        return {
            "id": n,
            "title": title,
            "body": body,
            "html_url": f"{site.url}/hc/en-us/articles/{n}",
            "section_id": section,
            "draft": draft,
            "locale": "en-us",
        }

    page_two = [article(3, "Internal draft", RETURNS, 20, draft=True)]
    if with_shipping:
        page_two.append(article(2, "Shipping", SHIPPING, 21))
    site.routes.update(
        {
            "/robots.txt": Reply("User-agent: *\nDisallow: /\n", content_type="text/plain"),
            "/api/v2/help_center/locales.json": as_json({"locales": ["en-us", "de"], "default_locale": "en-us"}),
            "/api/v2/help_center/en-us/sections.json?per_page=100": as_json(
                {
                    "sections": [
                        {"id": 20, "name": "Returns", "category_id": 5},
                        {"id": 21, "name": "Delivery", "category_id": 5},
                    ],
                    "next_page": None,
                }
            ),
            "/api/v2/help_center/en-us/categories.json?per_page=100": as_json(
                {"categories": [{"id": 5, "name": "Orders"}], "next_page": None}
            ),
            "/api/v2/help_center/en-us/articles.json?per_page=100": as_json(
                {
                    "articles": [article(1, "Returns and refunds", returns_body, 20), {"id": 9, "title": ""}],
                    "next_page": f"{site.url}/api/v2/help_center/en-us/articles.json?page=2&per_page=100",
                    "count": 4,
                }
            ),
            "/api/v2/help_center/en-us/articles.json?page=2&per_page=100": as_json(
                {"articles": page_two, "next_page": None, "count": 4}
            ),
        }
    )
    return site

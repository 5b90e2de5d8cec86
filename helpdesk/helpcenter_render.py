"""Article bodies to safe HTML, heading anchors, and plain text.

One code path for display and for the knowledge index: the index splits the same sanitized
HTML the help center shows, so a citation's `#anchor` always lands on a real heading.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import markdown
import nh3
from django.utils.text import slugify

from helpdesk.models import Article

HTML_SOURCES = frozenset({"html", "zendesk"})
_HEADING = re.compile(r"<h([1-3])(\s[^>]*)?>(.*?)</h\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
     "section", "article", "header", "footer", "dd", "dt", "hr"}
)  # fmt: skip


def article_is_html(article: Article) -> bool:
    return article.source in HTML_SOURCES


def sanitize_html(raw: str) -> str:
    return nh3.clean(raw)


def render_body(body: str, *, is_html: bool) -> str:
    """Sanitized HTML (Markdown rendered first), without heading ids."""
    raw = body if is_html else markdown.markdown(body, extensions=["extra", "sane_lists"])
    return sanitize_html(raw)


def html_to_text(fragment: str) -> str:
    parser = _TextParser()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


class _AnchorNamer:
    """Slug anchors, numbered on repeats (setup, setup-2, ...), the same for render and index."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def __call__(self, text: str) -> str:
        base = slugify(text)[:80] or "section"
        count = self.seen.get(base, 0) + 1
        self.seen[base] = count
        return base if count == 1 else f"{base}-{count}"


def _heading_text(inner_html: str) -> str:
    return " ".join(html.unescape(_TAG.sub("", inner_html)).split())


def render_article(article: Article) -> str:
    """The article as sanitized HTML whose h1-h3 carry the anchors the index cites."""
    body = render_body(article.body, is_html=article_is_html(article))
    namer = _AnchorNamer()

    def add_id(match: re.Match[str]) -> str:
        level, attrs, inner = match.group(1), match.group(2) or "", match.group(3)
        anchor = namer(_heading_text(inner))
        return f'<h{level} id="{anchor}"{attrs}>{inner}</h{level}>'

    return _HEADING.sub(add_id, body)


@dataclass(frozen=True)
class Section:
    """The text under one heading: `path` is the headings above it, `anchor` its id ("" before any)."""

    path: tuple[str, ...]
    anchor: str
    text: str


def article_sections(*, title: str, body: str, is_html: bool) -> list[Section]:
    """Split an article along its h1-h3 headings, keeping each section's heading path."""
    rendered = render_body(body, is_html=is_html)
    namer = _AnchorNamer()
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    anchor = ""
    last = 0
    for match in _HEADING.finditer(rendered):
        sections.append(Section(_path(title, stack), anchor, html_to_text(rendered[last : match.start()])))
        level, text = int(match.group(1)), _heading_text(match.group(3))
        anchor = namer(text)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        last = match.end()
    sections.append(Section(_path(title, stack), anchor, html_to_text(rendered[last:])))
    return [s for s in sections if s.text]


def _path(title: str, stack: list[tuple[int, str]]) -> tuple[str, ...]:
    headings = [text for _, text in stack if text and text.casefold() != title.casefold()]
    return (title, *headings)

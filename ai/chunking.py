"""Articles into passages: one per heading section, long sections cut at paragraph bounds."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from helpdesk.helpcenter_render import article_is_html, article_sections
from helpdesk.models import Article

# About 250 word pieces: what all-MiniLM-L6-v2 reads before it truncates.
MAX_PASSAGE_CHARS = 1000
HEADING_SEPARATOR = " > "
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    position: int
    heading_path: str
    anchor: str
    text: str

    @property
    def embed_text(self) -> str:
        """What gets embedded: the headings give a short passage its topic."""
        return f"{self.heading_path}\n{self.text}"

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.anchor}\n{self.embed_text}".encode()).hexdigest()


def split_article(article: Article) -> list[Chunk]:
    return split_text(title=article.title, body=article.body, is_html=article_is_html(article))


def split_text(*, title: str, body: str, is_html: bool, max_chars: int = MAX_PASSAGE_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in article_sections(title=title, body=body, is_html=is_html):
        path = HEADING_SEPARATOR.join(section.path)[:1000]
        for piece in _pack(section.text, max_chars):
            chunks.append(Chunk(len(chunks), path, section.anchor, piece))
    return chunks


def _pack(text: str, max_chars: int) -> list[str]:
    """Greedy packing of paragraphs (then sentences, then words) into pieces <= max_chars."""
    units: list[str] = []
    for paragraph in (p.strip() for p in text.split("\n")):
        if paragraph:
            units.extend(_split_long(paragraph, max_chars))
    pieces: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}\n{unit}" if current else unit
        if len(candidate) <= max_chars:
            current = candidate
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _split_long(paragraph: str, max_chars: int) -> list[str]:
    if len(paragraph) <= max_chars:
        return [paragraph]
    out: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(paragraph):
        words = [sentence] if len(sentence) <= max_chars else sentence.split()
        for word in words:
            word = word[:max_chars]
            candidate = f"{current} {word}" if current else word
            if len(candidate) <= max_chars:
                current = candidate
            else:
                out.append(current)
                current = word
    if current:
        out.append(current)
    return out

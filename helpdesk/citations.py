"""What a customer reads of an AI draft: no `[n]` citation markers, and the sources it quotes
as links at the end where the channel wants them (Workspace.source_link_channels).

Applied once, when a reply is sent (`services.ticket_reply`), so every path (autosend, an
approved reply, a draft a person sends or edits) gives the customer the same text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_MARKER = re.compile(r"[ \t]*\[\d+(?:\s*,\s*\d+)*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?])")


def strip_markers(text: str) -> str:
    """The text without its [1] / [1, 2] markers, punctuation kept where it was."""
    return _SPACE_BEFORE_PUNCT.sub(r"\1", _MARKER.sub("", text))


def same_text(a: str, b: str) -> bool:
    """Whether two texts say the same, whitespace and citation markers aside."""
    return " ".join(strip_markers(a).split()) == " ".join(strip_markers(b).split())


def sources_block(sources: Iterable[Mapping[str, Any]]) -> str:
    lines, seen = [], set()
    for source in sources:
        title, url = str(source.get("title") or "").strip(), str(source.get("url") or "").strip()
        if not url or url in seen:
            continue
        seen.add(url)
        lines.append(f"- {title}: {url}" if title else f"- {url}")
    return "Sources:\n" + "\n".join(lines) if lines else ""


def customer_text(body: str, sources: Iterable[Mapping[str, Any]], *, links: bool) -> str:
    text = strip_markers(body).strip()
    block = sources_block(sources) if links else ""
    if block and block not in text:
        text = f"{text}\n\n{block}"
    return text

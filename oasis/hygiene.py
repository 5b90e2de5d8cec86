"""What untrusted text and JSON must look like before any view, parser or importer uses it.

Postgres cannot store NUL in text, and psycopg cannot encode a lone UTF-16 surrogate (JSON's
`"\\ud800"`): either one reaching a query is a server error, so every edge refuses or strips
them with the helpers here. JSON is parsed with a nesting limit, because the stdlib parser and
everything that walks the result afterwards recurse once per level.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A document nested deeper than this is refused; no payload of ours needs more than a few levels.
MAX_JSON_DEPTH = 64

_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


class InputRejected(ValueError):
    """Input refused at the edge; `str()` is the message for the client (it never echoes the input)."""


def has_bad_chars(text: str) -> bool:
    return _BAD_CHARS.search(text) is not None


def strip_bad_chars(text: str) -> str:
    """Drop NUL and lone surrogates, for input that must be kept whatever it carries (e-mail)."""
    return _BAD_CHARS.sub("", text)


def check_text(text: str, *, where: str) -> None:
    if has_bad_chars(text):
        raise InputRejected(f"The {where} contains a NUL character or invalid Unicode (a lone surrogate).")


def check_json_value(
    value: Any, *, max_depth: int = MAX_JSON_DEPTH, where: str = "JSON body", allow_bad_chars: bool = False
) -> None:
    """Refuse a decoded JSON value nested deeper than `max_depth`, or holding a bad character
    (unless the caller strips them itself: `allow_bad_chars`).

    Iterative, so a value the parser accepted never overflows the stack here.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not allow_bad_chars:
                check_text(item, where=where)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise InputRejected(f"The {where} is nested more than {max_depth} levels deep.")
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((key, depth))
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in item)


def json_loads(
    data: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, where: str = "JSON body", allow_bad_chars: bool = False
) -> Any:
    """`json.loads` that refuses deep nesting and bad characters with `InputRejected`.

    Malformed JSON still raises `ValueError` (`json.JSONDecodeError`, `UnicodeDecodeError`) so
    callers keep their own wording for it.
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise InputRejected(f"The {where} is nested more than {max_depth} levels deep.") from None
    check_json_value(value, max_depth=max_depth, where=where, allow_bad_chars=allow_bad_chars)
    return value

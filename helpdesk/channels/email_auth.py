"""Did the sender of an inbound e-mail pass authentication at the relay the workspace trusts?

A `From:` header is whatever the sender typed. What proves it is the verdict of the mail relay
that received the message from the internet: its `Authentication-Results` header (RFC 8601),
naming the relay by its authserv-id. Only the topmost header carrying the workspace's trusted
authserv-id counts (the relay prepends its own; anything below it, the trusted id included,
may have been written by the sender); headers of any other authserv-id are ignored.

The sender is authenticated when that header says `dmarc=pass` (for the From domain), or, with
no failing DMARC verdict, `dkim=pass` with `header.d` aligned to the From domain, or
`spf=pass` with `smtp.mailfrom` aligned to it. Aligned: the same domain, or a parent of it
(nobody can sign for a parent domain without controlling its DNS).
"""

from __future__ import annotations

import email.errors
import re
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesHeaderParser
from typing import Any

HEADER = "Authentication-Results"
MAX_HEADERS = 50
_WORD = r"[A-Za-z0-9_.+-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_METHOD_RE = re.compile(rf"^\s*({_WORD})\s*(?:/\s*\d+\s*)?=\s*({_WORD})")
_PROP_RE = re.compile(rf"([A-Za-z0-9_-]+)\s*\.\s*({_WORD})\s*=\s*({_QUOTED}[^\s;]*|[^\s;]+)")
_PARSE_ERRORS = (ValueError, TypeError, IndexError, LookupError, AttributeError, email.errors.MessageError)


@dataclass(frozen=True)
class Result:
    method: str
    result: str
    props: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "result": self.result, **self.props}


@dataclass(frozen=True)
class SenderAuth:
    """The verdict: `passed` names what proved the sender ("dmarc", "dkim", "spf"), "" if nothing."""

    passed: str
    authserv_id: str
    results: tuple[Result, ...]
    reason: str

    def evidence(self) -> dict[str, Any]:
        return {
            "authserv_id": self.authserv_id,
            "passed": self.passed,
            "results": [r.as_json() for r in self.results],
        }


def _strip_comments(text: str) -> str:
    """RFC 5322 comments (nested parentheses) become spaces; quoted strings stay as they are."""
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if depth == 0 and ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
            continue
        elif not quoted and ch == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append(" ")
            continue
        if depth == 0:
            out.append(ch)
    return "".join(out)


def _split(text: str) -> list[str]:
    """Split on ";" outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ";" and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_header(value: str) -> tuple[str, tuple[Result, ...]]:
    """(authserv-id, results) of one Authentication-Results value; ("", ()) when unreadable."""
    parts = _split(_strip_comments(" ".join(value.split())))
    head = parts[0].split()
    if not head:
        return "", ()
    results: list[Result] = []
    for part in parts[1:]:
        match = _METHOD_RE.match(part)
        if match is None:
            continue  # "none", or a resinfo we cannot read: it proves nothing
        props = {
            f"{ptype.lower()}.{prop.lower()}": _unquote(pvalue)
            for ptype, prop, pvalue in _PROP_RE.findall(part[match.end() :])
        }
        results.append(Result(match.group(1).lower(), match.group(2).lower(), props))
    return _unquote(head[0]).lower(), tuple(results)


def _domain(value: str) -> str:
    return value.rpartition("@")[2].strip().strip(".").lower()


def aligned(domain: str, from_domain: str) -> bool:
    return bool(domain) and (from_domain == domain or from_domain.endswith(f".{domain}"))


def verdict(results: tuple[Result, ...], *, from_email: str) -> tuple[str, str]:
    """(what passed, why not) for one trusted header's results."""
    from_domain = _domain(from_email)
    dmarc = [r for r in results if r.method == "dmarc"]
    if any(r.result == "pass" and _domain(r.props.get("header.from", from_domain)) == from_domain for r in dmarc):
        return "dmarc", ""
    if any(r.result not in ("pass", "none") for r in dmarc):
        return "", f"dmarc={dmarc[0].result}"
    for r in results:
        if r.method == "dkim" and r.result == "pass" and aligned(_domain(r.props.get("header.d", "")), from_domain):
            return "dkim", ""
    for r in results:
        if r.method == "spf" and r.result == "pass" and aligned(_domain(r.props.get("smtp.mailfrom", "")), from_domain):
            return "spf", ""
    return "", "no DMARC pass and no DKIM or SPF pass aligned with the From domain"


def sender_authentication(*, raw: bytes, from_email: str, authserv_id: str) -> SenderAuth:
    """The trusted relay's verdict on the message's sender (see the module docstring)."""
    trusted = authserv_id.strip().lower()
    if not trusted:
        return SenderAuth("", "", (), "the workspace names no trusted mail relay")
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw).get_all(HEADER) or []
    except _PARSE_ERRORS:
        headers = []
    for value in headers[:MAX_HEADERS]:
        server, results = parse_header(str(value))
        if server == trusted:
            passed, reason = verdict(results, from_email=from_email)
            return SenderAuth(passed, server, results, reason)
    return SenderAuth("", "", (), f"no {HEADER} header from the trusted relay {trusted}")

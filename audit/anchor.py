"""Chain heads anchored outside the database, so rewriting the database alone is found.

Someone who can disable the append-only triggers (a database superuser) can delete the newest
events, edit one and re-hash everything after it, or forge a retention checkpoint: the chain in
the database then verifies on its own. So the heads are also written, every few minutes
(`audit_anchor_heads`: the `audit.anchor_heads` schedule and `manage.py audit_anchor`) and at
every prune (its checkpoint), to an append-only JSON Lines file outside the database
(`OASIS_AUDIT_ANCHOR_PATH`). Each line is HMAC-SHA256-signed with `OASIS_AUDIT_ANCHOR_KEY`, a key
the database never holds, and names the previous line's signature, so a line edited, inserted
or removed in the middle is found. `verify_anchored` then compares the database with the file:

- truncation: the chain ends below a seq that was anchored;
- rewriting: an anchored seq still in the database has another hash;
- a forged checkpoint: its hash differs from the one anchored at its seq, or it was never
  anchored by a prune although heads were anchored before it.

What it cannot see: events after the last anchor (dropped or edited before the next run), and
an attacker who holds the key and can rewrite the file too. See audit/README.md.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditEvent
from audit.services import VerifyResult, canonical_json, chain_start, event_rows, verify_chain

ANCHOR_FORMAT = "oasis-audit-anchor/1"
HEAD, CHECKPOINT = "head", "checkpoint"
# Only for a local demo or the test suite (DEBUG or TESTING); production refuses to anchor without a key.
DEV_KEY = "oasis-insecure-development-anchor-key-not-for-production"
MIN_KEY_LENGTH = 32
# Where a new line's predecessor and the newest anchored heads are read from: the file's end.
TAIL_BYTES = 1 << 20

_WORKSPACE_TABLE = AuditEvent._meta.get_field("workspace").related_model._meta.db_table  # type: ignore[union-attr]
# Every workspace's head, in one statement (one snapshot): its newest event, or its newest
# checkpoint when retention pruned every event.
_HEADS_SQL = f"""
SELECT w.id, w.slug, COALESCE(e.seq, c.seq), COALESCE(e.hash, c.hash)
FROM {_WORKSPACE_TABLE} w
LEFT JOIN LATERAL (SELECT seq, hash FROM {AuditEvent._meta.db_table}
                   WHERE workspace_id = w.id ORDER BY seq DESC LIMIT 1) e ON TRUE
LEFT JOIN LATERAL (SELECT seq, hash FROM {AuditCheckpoint._meta.db_table}
                   WHERE workspace_id = w.id ORDER BY seq DESC LIMIT 1) c ON TRUE
WHERE COALESCE(e.seq, c.seq) IS NOT NULL
ORDER BY w.id
"""  # noqa: S608 (table names from the models)


def anchor_path() -> Path:
    """`OASIS_AUDIT_ANCHOR_PATH`, else var/audit-anchors.jsonl beside the project."""
    raw = getattr(settings, "OASIS_AUDIT_ANCHOR_PATH", None) or os.environ.get("OASIS_AUDIT_ANCHOR_PATH", "")
    return Path(raw) if raw else Path(settings.BASE_DIR) / "var" / "audit-anchors.jsonl"


def anchor_key() -> bytes:
    """The signing key from `OASIS_AUDIT_ANCHOR_KEY`; a fixed development key only in DEBUG or TESTING."""
    raw = getattr(settings, "OASIS_AUDIT_ANCHOR_KEY", None) or os.environ.get("OASIS_AUDIT_ANCHOR_KEY", "")
    if not raw:
        if settings.DEBUG or getattr(settings, "TESTING", False):
            return DEV_KEY.encode()
        raise ImproperlyConfigured(
            "OASIS_AUDIT_ANCHOR_KEY is not set: audit chain heads are neither anchored nor checked "
            "against their anchors (set a random secret of at least 32 characters, kept out of the database)"
        )
    if len(raw) < MIN_KEY_LENGTH:
        raise ImproperlyConfigured(f"OASIS_AUDIT_ANCHOR_KEY must be at least {MIN_KEY_LENGTH} characters long")
    return str(raw).encode()


def anchoring_configured() -> bool:
    try:
        anchor_key()
    except ImproperlyConfigured:
        return False
    return True


def _sign(key: bytes, line: dict[str, Any]) -> str:
    body = {k: v for k, v in line.items() if k != "mac"}
    return hmac.new(key, canonical_json(body).encode(), hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Head:
    workspace: int
    workspace_slug: str
    seq: int
    hash: str


def _tail(handle: IO[bytes]) -> tuple[str, dict[int, tuple[int, str]], bool]:
    """The last line's signature, the newest (seq, hash) per workspace near the end, and
    whether the file ends with a newline (a write cut short by a crash does not)."""
    size = handle.seek(0, os.SEEK_END)
    if size == 0:
        return "", {}, True
    start = max(0, size - TAIL_BYTES)
    handle.seek(start)
    data = handle.read()
    raws = data.split(b"\n")[1 if start else 0 :]  # a window's first line may be cut
    previous = ""
    newest: dict[int, tuple[int, str]] = {}
    for raw in raws:
        line = _parse(raw)
        if line is None:
            continue
        previous = str(line.get("mac", ""))
        try:
            newest[int(line["workspace"])] = (int(line["seq"]), str(line["hash"]))
        except (KeyError, TypeError, ValueError):
            continue
    return previous, newest, data.endswith(b"\n")


def _parse(raw: bytes | str) -> dict[str, Any] | None:
    try:
        line = json.loads(raw)
    except ValueError:
        return None
    return line if isinstance(line, dict) and line.get("anchor") == ANCHOR_FORMAT and "mac" in line else None


def _append(heads: Sequence[Head], *, kind: str, skip_anchored: bool) -> list[Head]:
    """Append signed lines for `heads` under an exclusive lock on the file; returns those written."""
    key = anchor_key()
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file closes
        previous, newest, ends_clean = _tail(handle)
        if skip_anchored:
            heads = [h for h in heads if newest.get(h.workspace) != (h.seq, h.hash)]
        out = [] if ends_clean else ["\n"]
        at = timezone.now().isoformat()
        for head in heads:
            line: dict[str, Any] = {
                "anchor": ANCHOR_FORMAT,
                "kind": kind,
                "workspace": head.workspace,
                "workspace_slug": head.workspace_slug,
                "seq": head.seq,
                "hash": head.hash,
                "at": at,
                "prev": previous,
            }
            line["mac"] = previous = _sign(key, line)
            out.append(json.dumps(line, sort_keys=True) + "\n")
        if heads:
            handle.write("".join(out).encode())
            handle.flush()
            os.fsync(handle.fileno())
    return list(heads)


def chain_heads(*, workspace_ids: Sequence[int] | None = None) -> list[Head]:
    with connection.cursor() as cursor:
        cursor.execute(_HEADS_SQL)
        heads = [Head(int(r[0]), str(r[1]), int(r[2]), str(r[3])) for r in cursor.fetchall()]
    return heads if workspace_ids is None else [h for h in heads if h.workspace in workspace_ids]


def audit_anchor_heads(*, workspace_ids: Sequence[int] | None = None) -> list[Head]:
    """Anchor every workspace's chain head that is not anchored yet; returns those written.

    Raises ImproperlyConfigured in production without `OASIS_AUDIT_ANCHOR_KEY`.
    """
    anchor_key()  # refuse before reading anything
    return _append(chain_heads(workspace_ids=workspace_ids), kind=HEAD, skip_anchored=True)


def anchor_checkpoint(checkpoint: AuditCheckpoint, *, workspace_slug: str) -> None:
    """Anchor a prune's checkpoint (before the prune commits: a failed commit leaves an anchor
    of rows still there, which verifies; the reverse would leave a checkpoint nobody vouches for)."""
    head = Head(checkpoint.workspace_id, workspace_slug, checkpoint.seq, checkpoint.hash)
    _append([head], kind=CHECKPOINT, skip_anchored=False)


# ----------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Anchor:
    workspace: int
    seq: int
    hash: str
    at: str
    kind: str
    line: int

    @property
    def where(self) -> str:
        return f"anchored at {self.at} (anchor line {self.line})"


@dataclass
class AnchorLog:
    """The anchor file as read: the anchors whose signature holds, and what was wrong with the rest."""

    path: Path
    exists: bool = False
    lines: int = 0
    problems: list[str] = field(default_factory=list)
    by_workspace: dict[int, list[Anchor]] = field(default_factory=dict)

    def for_workspace(self, workspace_id: int) -> list[Anchor]:
        return self.by_workspace.get(workspace_id, [])


def anchor_log_read(path: Path | None = None) -> AnchorLog:
    """Read and check every line: its signature, and that it follows the line before it."""
    key = anchor_key()
    log = AnchorLog(path=path or anchor_path())
    if not log.path.exists():
        return log
    log.exists = True
    previous = ""
    with log.path.open(encoding="utf-8", errors="replace") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            log.lines = number
            line = _parse(raw)
            if line is None:
                log.problems.append(f"line {number} is not a signed anchor")
                continue
            mac, claimed_previous = str(line["mac"]), line.get("prev")
            follows = claimed_previous == previous
            previous = mac
            if not hmac.compare_digest(mac, _sign(key, line)):
                log.problems.append(
                    f"line {number}: the signature does not match (the line was edited, or signed with another key)"
                )
                continue
            if not follows:
                log.problems.append(f"line {number} does not follow the line before it (a line was removed or moved)")
            try:
                anchor = Anchor(
                    workspace=int(line["workspace"]),
                    seq=int(line["seq"]),
                    hash=str(line["hash"]),
                    at=str(line["at"]),
                    kind=str(line["kind"]),
                    line=number,
                )
            except (KeyError, TypeError, ValueError):
                log.problems.append(f"line {number} lacks a field")
                continue
            log.by_workspace.setdefault(anchor.workspace, []).append(anchor)
    return log


# ------------------------------------------------------------------------------ verification


def verify_anchored(*, workspace_id: int, anchors: Sequence[Anchor]) -> VerifyResult:
    """`audit_verify_workspace`, and the database against the workspace's anchored heads."""
    start_seq, start_prev_hash = chain_start(workspace_id)
    anchored: dict[int, Anchor] = {}
    for anchor in anchors:
        first = anchored.setdefault(anchor.seq, anchor)
        if first.hash != anchor.hash:
            problem = f"anchor lines {first.line} and {anchor.line} hold two hashes for seq {anchor.seq}"
            return VerifyResult(False, 0, problem + ": the chain was rewritten between them", anchor.seq)
    last_seq = start_seq - 1
    differs: list[Anchor] = []

    def rows() -> Iterator[dict[str, Any]]:
        nonlocal last_seq
        for row in event_rows(workspace_id):
            anchor = anchored.get(int(row["seq"]))
            if anchor is not None and anchor.hash != row["hash"]:
                differs.append(anchor)
                return
            last_seq = int(row["seq"])
            yield row

    result = verify_chain(rows(), start_prev_hash=start_prev_hash, start_seq=start_seq)
    if not result.ok or not anchored:
        return result
    if differs:
        anchor = differs[0]
        problem = f"hash differs from the one {anchor.where}: re-hashed after an edit"
        return VerifyResult(False, result.checked, problem, anchor.seq)
    newest = anchored[max(anchored)]
    if last_seq < newest.seq:
        problem = f"truncated: the chain ends at seq {last_seq}, but seq {newest.seq} was {newest.where}"
        return VerifyResult(False, result.checked, problem, newest.seq)
    pruned_at = {a.seq for a in anchors if a.kind == CHECKPOINT}
    return _check_checkpoints(workspace_id, anchored, pruned_at, result)


def _check_checkpoints(
    workspace_id: int, anchored: dict[int, Anchor], pruned_at: set[int], result: VerifyResult
) -> VerifyResult:
    first_anchored = min(anchored)
    for seq, digest in AuditCheckpoint.objects.filter(workspace_id=workspace_id).values_list("seq", "hash"):
        anchor = anchored.get(seq)
        if anchor is not None and anchor.hash != digest:
            problem = f"forged checkpoint: its hash differs from the one {anchor.where}"
            return VerifyResult(False, result.checked, problem, seq)
        if seq >= first_anchored and seq not in pruned_at:
            problem = (
                f"forged checkpoint: no prune anchored it, though heads were anchored from seq {first_anchored} on"
            )
            return VerifyResult(False, result.checked, problem, seq)
    return result


__all__ = [
    "Anchor",
    "AnchorLog",
    "Head",
    "anchor_checkpoint",
    "anchor_key",
    "anchor_log_read",
    "anchor_path",
    "anchoring_configured",
    "audit_anchor_heads",
    "chain_heads",
    "verify_anchored",
]

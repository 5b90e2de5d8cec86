"""django-q2 tasks of the audit log (scheduled in audit/schedules.py)."""

from __future__ import annotations

from audit.anchor import audit_anchor_heads


def anchor_heads_task() -> int:
    """Anchor the chain heads that moved since the last run; returns how many were written."""
    return len(audit_anchor_heads())

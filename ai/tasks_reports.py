"""The reports rollup task, run by django-q2 every 10 minutes (and nightly with a recheck)."""

from __future__ import annotations

import logging

from ai.reports.rollup import report_rollup_catch_up
from helpdesk.models import Workspace

logger = logging.getLogger(__name__)


def reports_rollup_task(recheck_days: int = 0) -> dict[str, int]:
    """Catch up every workspace's rollup; one workspace failing does not stop the others."""
    done = failed = 0
    for workspace_id in Workspace.objects.order_by("pk").values_list("pk", flat=True):
        try:
            report_rollup_catch_up(workspace_id=workspace_id, recheck_days=recheck_days)
            done += 1
        except Exception:
            logger.exception("reports rollup failed for workspace %s", workspace_id)
            failed += 1
    return {"workspaces": done, "failed": failed}

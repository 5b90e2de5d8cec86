"""Scheduled billing work (django-q2). Each task calls a service; see billing/schedules.py."""

from __future__ import annotations

import logging

from django.utils import timezone

from billing.services import invoices_generate_month, outcomes_finalize_due, outcomes_scan

logger = logging.getLogger(__name__)


def finalize_outcomes() -> int:
    """Hourly: track AI-resolved tickets the pipeline did not report, then finalise due outcomes."""
    scanned = outcomes_scan()
    finalized = outcomes_finalize_due()
    logger.info(
        "outcomes: %s tracked, %s voided by scan, %s finalised", scanned["tracked"], scanned["voided"], finalized
    )
    return finalized


def generate_monthly_invoices() -> int:
    """On the 1st: every workspace's invoice for the month that just ended."""
    today = timezone.now().date()
    year, month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    invoices = invoices_generate_month(year=year, month=month)
    logger.info("invoices for %04d-%02d: %s", year, month, len(invoices))
    return len(invoices)

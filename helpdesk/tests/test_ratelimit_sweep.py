"""Rate-limit counters: counted in one statement per request, swept by a schedule."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from helpdesk.channels.ratelimit import SWEEP_AFTER_SECONDS, hit, sweep
from helpdesk.models.channels import RateCounter

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000.0


def test_it_counts_a_request_in_one_statement_every_time():
    # A query budget (the widget's poll) must not depend on chance: the request path never sweeps.
    for i in range(300):
        with CaptureQueriesContext(connection) as queries:
            hit("ip:1", limit=10_000, window=60, now=NOW + i)
        assert len(queries) == 1


def test_the_sweep_deletes_windows_long_past_and_keeps_recent_ones():
    hit("ip:old", limit=10, window=60, now=NOW - SWEEP_AFTER_SECONDS - 120)
    hit("ip:new", limit=10, window=60, now=NOW - 60)
    assert sweep(now=NOW) == 1
    assert list(RateCounter.objects.values_list("key", flat=True)) == ["ip:new"]


def test_the_sweep_runs_on_a_schedule():
    schedule = Schedule.objects.get(name="helpdesk.ratecounter_sweep")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == ("helpdesk.channels.ratelimit.sweep", "I", 60)

"""Business hours per channel: is a person there now, and if not, when are they back?"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from helpdesk.models import Ticket, Workspace
from helpdesk.models.channels import BusinessHours

HANDOFF_NOTICE = "Thanks, a person will answer shortly."
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _zone(hours: BusinessHours) -> ZoneInfo:
    try:
        return ZoneInfo(hours.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse(value: str) -> time:
    hh, _, mm = str(value).partition(":")
    return time(int(hh) % 24, int(mm or 0) % 60)


def _ranges(hours: BusinessHours, weekday: int) -> list[tuple[time, time]]:
    raw = (hours.hours or {}).get(str(weekday)) or []
    ranges: list[tuple[time, time]] = []
    for pair in raw:
        try:
            start, end = _parse(pair[0]), _parse(pair[1])
        except (ValueError, IndexError, TypeError):
            continue
        if start < end:
            ranges.append((start, end))
    return sorted(ranges)


def hours_for(workspace: Workspace | int, channel: str) -> BusinessHours | None:
    return BusinessHours.objects.filter(workspace=workspace, channel=channel).first()


def is_open(hours: BusinessHours | None, now: datetime | None = None) -> bool:
    """No hours configured means always staffed."""
    if hours is None:
        return True
    local = (now or timezone.now()).astimezone(_zone(hours))
    return any(start <= local.time() < end for start, end in _ranges(hours, local.weekday()))


def next_opening(hours: BusinessHours, now: datetime | None = None) -> datetime | None:
    """The next moment (in the hours' timezone) a person is there; None if never."""
    zone = _zone(hours)
    local = (now or timezone.now()).astimezone(zone)
    for days in range(8):
        day = (local + timedelta(days=days)).date()
        for start, _ in _ranges(hours, day.weekday()):
            candidate = datetime.combine(day, start, tzinfo=zone)
            if candidate > local:
                return candidate
    return None


def back_message(hours: BusinessHours, now: datetime | None = None) -> str:
    """'We're back Monday 9:00 CET; a person will answer then.'"""
    opening = next_opening(hours, now)
    if opening is None:
        return "We're away right now; a person will answer as soon as possible."
    local = (now or timezone.now()).astimezone(opening.tzinfo)
    if opening.date() == local.date():
        day = "today"
    elif opening.date() == local.date() + timedelta(days=1):
        day = "tomorrow"
    else:
        day = DAY_NAMES[opening.weekday()]
    return f"We're back {day} {opening.hour}:{opening.minute:02d} {opening.strftime('%Z')}; a person will answer then."


def waiting_notice(ticket: Ticket, now: datetime | None = None) -> str:
    """What a customer sees while their ticket waits for a person."""
    hours = hours_for(ticket.workspace_id, ticket.channel)
    if is_open(hours, now):
        return HANDOFF_NOTICE
    assert hours is not None
    return back_message(hours, now)

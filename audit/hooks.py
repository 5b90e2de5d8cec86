"""What the apps above audit add to its pages, registered in their AppConfig.ready().

Audit records and knows no domain (an import-linter contract in pyproject.toml holds it): a
page or a card that reads the audit trail with a domain's eyes (the AI's trust page, its run
cards on a ticket's timeline, its review filters) lives in that app and registers here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.admin import ListFilter
    from django.db.models import Q
    from django.urls import URLPattern

    from audit.timeline import Entry

_urls: list[URLPattern] = []


def register_urls(patterns: Sequence[URLPattern]) -> None:
    _urls.extend(p for p in patterns if p not in _urls)


def registered_urls() -> list[URLPattern]:
    return list(_urls)


@dataclass(frozen=True)
class TimelineCard:
    """A card on a ticket's timeline: the events it shows leave the plain list, and the card
    stands where the first of them was recorded (`seq`, the chain's order of time)."""

    template: str  # an include, rendered with `card` bound to `card`
    card: object
    seq: int
    claims: frozenset[int]  # the seqs of the events the card shows


@dataclass(frozen=True)
class CardBuilder:
    """Gathers a ticket's events (in seq order, with their message bodies) into cards."""

    noun: str  # what the timeline's summary counts, in the singular: "AI run"
    build: Callable[[Sequence[Entry]], list[TimelineCard]]
    # The id of the card that shows an event with this data ("" if none): the admin's link from
    # an event to its place on the timeline.
    anchor: Callable[[Mapping[str, Any]], str]


_card_builders: list[CardBuilder] = []


def register_card_builder(builder: CardBuilder) -> None:
    if builder not in _card_builders:
        _card_builders.append(builder)


def card_builders() -> list[CardBuilder]:
    return list(_card_builders)


# The admin review's filters: groups of the "kind of event" filter (key: label, condition),
# listed before audit's own, and whole filters, listed after the ticket type.
_event_groups: dict[str, tuple[str, Q]] = {}
_event_filters: list[type[ListFilter]] = []


def register_event_groups(groups: Mapping[str, tuple[str, Q]]) -> None:
    _event_groups.update(groups)


def event_groups() -> dict[str, tuple[str, Q]]:
    return dict(_event_groups)


def register_event_filters(filters: Sequence[type[ListFilter]]) -> None:
    _event_filters.extend(f for f in filters if f not in _event_filters)


def event_filters() -> list[type[ListFilter]]:
    return list(_event_filters)

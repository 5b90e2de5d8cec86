"""A shop's own order status words, and the canonical status the policy checks read for each.

A real shop writes `on_hold`, `partially_shipped`, `awaiting_pickup`, `refunded`… The order keeps
that word and every page shows it as it is; the tools' policy checks (can the address still
change, can it be refunded, is it delivered) need one of the six canonical `OrderStatus` values.
`StatusMap.canonical` gives it: the workspace's own mapping first (admin "Order status words"),
then the canonical words themselves and their common spellings. A word known to neither means
what the workspace says: "a person decides" (the default: `UNMAPPED`, and the planner hands the
ask to a person with the word in the reason) or "not yet shipped" (processing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, QuerySet

from audit.services import Actor, audit_record
from helpdesk.models import Order, OrderStatus, OrderStatusWord, Workspace

UNMAPPED = ""
NOT_SHIPPED_POLICY = "not_shipped"
# Spellings every shop means the same way; anything wider is the shop's to say.
BUILT_IN: dict[str, str] = {
    **{value: value for value in OrderStatus.values},
    "canceled": OrderStatus.CANCELLED,
}


def status_key(word: str) -> str:
    """ "On hold", "on-hold" and "ON_HOLD" are one word: on_hold."""
    return re.sub(r"[\s\-]+", "_", word.strip().lower())[:64]


@dataclass(frozen=True)
class StatusMap:
    words: dict[str, str] = field(default_factory=dict)
    unknown_not_shipped: bool = False

    def canonical(self, word: str) -> str:
        key = status_key(word)
        found = self.words.get(key) or BUILT_IN.get(key)
        if found:
            return found
        return OrderStatus.PROCESSING if self.unknown_not_shipped else UNMAPPED

    def knows(self, word: str) -> bool:
        """Whether the shop or the built-in spellings say what the word means."""
        key = status_key(word)
        return bool(self.words.get(key) or BUILT_IN.get(key))

    def shown(self, word: str) -> str:
        """The word a reply states: the canonical one when the shop's word is just its spelling,
        else the shop's own word as it is."""
        canonical = self.canonical(word)
        return canonical if canonical and BUILT_IN.get(status_key(word)) == canonical else word


def status_words(workspace_id: int) -> QuerySet[OrderStatusWord]:
    return OrderStatusWord.objects.filter(workspace_id=workspace_id)


def status_map_from(*, workspace: Workspace, words: Iterable[OrderStatusWord]) -> StatusMap:
    return StatusMap(
        words={row.key: row.status for row in words},
        unknown_not_shipped=workspace.unknown_order_status == NOT_SHIPPED_POLICY,
    )


def status_map_for(workspace: Workspace) -> StatusMap:
    """The workspace's mapping (one query: the workspace row is at hand)."""
    return status_map_from(workspace=workspace, words=status_words(workspace.pk))


def unmapped_words(*, workspace: Workspace) -> dict[str, int]:
    """{word: orders} of the statuses on the workspace's orders that no mapping covers, most orders
    first (the words the shop has yet to say the meaning of)."""
    mapping = status_map_for(workspace)
    rows = Order.objects.filter(workspace=workspace).values_list("status").annotate(n=Count("pk"))
    counts = {word: n for word, n in rows if not mapping.knows(word)}
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _snapshot(row: OrderStatusWord) -> dict[str, Any]:
    return {"word": row.word, "status": row.status}


@transaction.atomic
def order_status_word_save(*, workspace: Workspace, word: str, status: str, actor: Actor) -> OrderStatusWord:
    """Map one of the shop's status words (a word mapped again takes the new status)."""
    key = status_key(word)
    row = OrderStatusWord.objects.select_for_update().filter(workspace=workspace, key=key).first()
    before = _snapshot(row) if row is not None else None
    row = row or OrderStatusWord(workspace=workspace, key=key)
    row.word, row.status = word.strip(), status
    row.full_clean(exclude=["key"], validate_unique=False)
    row.save()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="shop.status_word_mapped",
        data={"before": before, "after": _snapshot(row)},
    )
    return row


@transaction.atomic
def order_status_word_delete(*, row: OrderStatusWord, actor: Actor) -> None:
    audit_record(workspace=row.workspace, actor=actor, kind="shop.status_word_unmapped", data=_snapshot(row))
    row.delete()

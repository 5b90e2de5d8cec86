from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction

from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.models import Ticket, TicketStatus
from helpdesk.services_channels import ticket_customer_handoff
from helpdesk.ticket_states import MOVES, InvalidTransition, _move

ACTOR = Actor.system("test")
ALL_STATES = list(TicketStatus.values)


def _set_status(ticket: Ticket, status: str) -> Ticket:
    # Test setup: put the row in a state without a move (and without its audit row).
    Ticket.objects.filter(pk=ticket.pk).update(status=status)
    ticket.refresh_from_db()
    return ticket


def _rows(ticket: Ticket) -> int:
    return int(AuditEvent.objects.for_ticket(ticket.pk).count())


def _move_atomically(ticket: Ticket, verb: str) -> Ticket:
    with transaction.atomic():
        return _move(ticket=ticket, verb=verb, actor=ACTOR, data={"reason": "test"})


ILLEGAL = [(verb, state) for verb, move in MOVES.items() for state in ALL_STATES if state not in move.sources]
LEGAL = [(verb, state) for verb, move in MOVES.items() for state in move.sources]


@pytest.mark.parametrize(("verb", "state"), ILLEGAL, ids=[f"{v}-from-{s}" for v, s in ILLEGAL])
def test_it_refuses_an_illegal_move_and_writes_nothing(ticket, verb, state):
    ticket = _set_status(ticket, state)
    before = (_rows(ticket), Ticket.objects.filter(pk=ticket.pk).values().get())
    with pytest.raises(InvalidTransition, match=f"a ticket that is {state}"):
        _move_atomically(ticket, verb)
    assert (_rows(ticket), Ticket.objects.filter(pk=ticket.pk).values().get()) == before


@pytest.mark.parametrize(("verb", "state"), LEGAL, ids=[f"{v}-from-{s}" for v, s in LEGAL])
def test_it_makes_each_move_with_exactly_one_audit_row_of_its_kind(ticket, verb, state):
    ticket = _set_status(ticket, state)
    before = _rows(ticket)
    moved = _move_atomically(ticket, verb)
    assert Ticket.objects.get(pk=ticket.pk).status == moved.status == MOVES[verb].to
    assert _rows(ticket) == before + 1
    row = AuditEvent.objects.for_ticket(ticket.pk).order_by("-seq").first()
    assert row is not None
    assert (row.kind, row.data["from"], row.data["to"], row.data["reason"]) == (
        MOVES[verb].kind,
        state,
        MOVES[verb].to,
        "test",
    )


def test_it_stamps_resolution_on_resolve_and_clears_it_on_reopen(ticket):
    resolved = _move_atomically(ticket, "resolve")
    assert resolved.resolved_at is not None
    assert Ticket.objects.get(pk=ticket.pk).resolved_at == resolved.resolved_at
    reopened = _move_atomically(ticket, "reopen")
    assert reopened.resolved_at is None and Ticket.objects.get(pk=ticket.pk).resolved_at is None


def test_it_records_a_handoff_of_a_new_ticket_as_opened_not_reopened(ticket):
    ticket_customer_handoff(ticket=ticket, actor=Actor.for_customer(ticket.customer))
    kinds = list(AuditEvent.objects.for_ticket(ticket.pk).values_list("kind", flat=True))
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    assert "ticket.opened" in kinds and "ticket.reopened" not in kinds


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_two_concurrent_moves_win(workspace):
    from helpdesk.services import ticket_create

    ticket = ticket_create(workspace=workspace, channel="chat", customer_email="r@x.test", subject="s", body="b")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(verb: str) -> None:
        try:
            barrier.wait()
            _move_atomically(Ticket.objects.get(pk=ticket.pk), verb)
            outcomes.append(verb)
        except InvalidTransition:
            outcomes.append("refused")
        finally:
            connection.close()

    # Both start only from `awaiting_approval` (a manager releases the hold while the customer asks
    # for a person): whichever commits first leaves `open`, which the other does not start from.
    _move_atomically(Ticket.objects.get(pk=ticket.pk), "await_approval")
    threads = [threading.Thread(target=move, args=(verb,)) for verb in ("release_approval", "hand_off")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("refused") == 1, outcomes
    winner = next(o for o in outcomes if o != "refused")
    assert Ticket.objects.get(pk=ticket.pk).status == MOVES[winner].to
    kinds = list(AuditEvent.objects.for_ticket(ticket.pk).values_list("kind", flat=True))
    assert [k for k in kinds if k in ("ticket.approval_released", "ticket.handed_off")] == [MOVES[winner].kind]


STATUS_WRITE = re.compile(
    "|".join(
        (
            r"\bstatus\s*=\s*TicketStatus\.",  # Ticket(status=...), .update(status=...)
            r"[\"']status[\"']\s*:\s*TicketStatus\.",  # a changes dict
            r"\bticket\.status\s*=(?!=)",
            r"\bticket\.save\(update_fields=\[[^]]*[\"']status[\"']",
        )
    )
)


def test_it_changes_ticket_status_only_in_the_state_machine():
    root = Path(settings.BASE_DIR)
    offenders = []
    for path in (
        p for app in ("oasis", "helpdesk", "ai", "billing", "audit", "bench") for p in root.glob(f"{app}/**/*.py")
    ):
        parts = path.relative_to(root).parts
        if "tests" in parts or "migrations" in parts:
            continue
        if path.relative_to(root).as_posix() == "helpdesk/ticket_states.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if STATUS_WRITE.search(line):
                offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    # Creating a ticket in its first state (a new ticket, an import, seeded history) is not a move.
    allowed = ("status=TicketStatus.NEW,", "status=TicketStatus.RESOLVED,", "status=_status(item),")
    assert [o for o in offenders if not o.endswith(allowed)] == []

"""Pricing arithmetic shared by invoicing and the cost calculator, so the two always agree.

Everything is Decimal, rounded half-up to cents at the edges; no floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from billing.models import Plan

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def money(value: Decimal | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def in_trial(plan: Plan, at: datetime) -> bool:
    return plan.trial_ends_at is not None and at < plan.trial_ends_at


def outcome_price(*, plan: Plan, at: datetime) -> Decimal:
    """The price of one outcome resolved by an AI reply sent at `at`: 0.00 during the trial."""
    return ZERO if in_trial(plan, at) else money(plan.price_per_outcome)


def cost_per_outcome(*, outcomes: int, price: Decimal) -> Decimal:
    return money(price * outcomes)


def cost_per_attempt(*, attempts: Decimal | int, price: Decimal) -> Decimal:
    return money(price * Decimal(attempts))


def cost_per_seat(*, seats: int, price: Decimal) -> Decimal:
    return money(price * seats)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    credits: Decimal
    tax: Decimal
    total: Decimal


def invoice_totals(*, charges: Decimal, credits: Decimal, tax_rate: Decimal) -> Totals:
    """Charges are >= 0, credits <= 0; tax is charged on the net amount."""
    subtotal, credits = money(charges), money(credits)
    tax = money((subtotal + credits) * tax_rate)
    return Totals(subtotal=subtotal, credits=credits, tax=tax, total=money(subtotal + credits + tax))


@dataclass(frozen=True)
class MonthlyCosts:
    per_seat: Decimal
    per_attempt: Decimal
    per_outcome: Decimal
    outcomes: int
    attempts: Decimal


def monthly_costs(
    *,
    tickets: int,
    resolution_rate: Decimal,
    attempts_per_ticket: Decimal,
    seats: int,
    seat_price: Decimal,
    attempt_price: Decimal,
    outcome_price: Decimal,
) -> MonthlyCosts:
    """One month under the three models. Outcomes are whole tickets (rounded down: a part of a
    resolution is never billed)."""
    outcomes = int((Decimal(tickets) * resolution_rate).to_integral_value(rounding="ROUND_FLOOR"))
    attempts = Decimal(tickets) * attempts_per_ticket
    return MonthlyCosts(
        per_seat=cost_per_seat(seats=seats, price=seat_price),
        per_attempt=cost_per_attempt(attempts=attempts, price=attempt_price),
        per_outcome=cost_per_outcome(outcomes=outcomes, price=outcome_price),
        outcomes=outcomes,
        attempts=attempts,
    )

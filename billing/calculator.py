"""The cost calculator: one month under per seat, per attempt and per outcome pricing.

It calls `billing.pricing.monthly_costs`, the same arithmetic invoices use, with the
workspace's own plan prices, and draws the comparison as a server-side SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from billing.models import Outcome, OutcomeStatus, Plan
from billing.pricing import MonthlyCosts, monthly_costs
from helpdesk.models import AuthorKind, Membership, Message, MessageKind, Role, Ticket

DEFAULTS = {"tickets": 1000, "resolution_rate": Decimal("40"), "attempts_per_ticket": Decimal("1.2")}
SERIES = (
    ("per_seat", "Per seat", "#6b7280"),
    ("per_attempt", "Per attempt", "#d97706"),
    ("per_outcome", "Per outcome", "#059669"),
)


@dataclass(frozen=True)
class Inputs:
    tickets: int
    resolution_rate: Decimal  # percent
    attempts_per_ticket: Decimal
    seats: int
    seat_price: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "resolution_rate": str(self.resolution_rate),
            "attempts_per_ticket": str(self.attempts_per_ticket),
            "seats": self.seats,
            "seat_price": str(self.seat_price),
        }


def _q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def last_30_days(*, plan: Plan) -> tuple[Inputs, bool]:
    """The workspace's own month: (inputs, True) or the defaults (…, False) when it has no tickets."""
    since = timezone.now() - timedelta(days=30)
    workspace_id = plan.workspace_id
    seats = Membership.objects.filter(workspace_id=workspace_id).exclude(role=Role.FINANCE).count()
    tickets = Ticket.objects.filter(workspace_id=workspace_id, created_at__gte=since).count()
    if tickets == 0:
        return Inputs(seats=max(seats, 1), seat_price=plan.price_per_seat, **DEFAULTS), False  # type: ignore[arg-type]
    outcomes = (
        Outcome.objects.filter(workspace_id=workspace_id, ai_replied_at__gte=since)
        .exclude(status=OutcomeStatus.VOIDED)
        .count()
    )
    # Until the Agent records its runs, an attempt is a public AI reply.
    attempts = Message.objects.filter(
        ticket__workspace_id=workspace_id, kind=MessageKind.REPLY, author_kind=AuthorKind.AI, created_at__gte=since
    ).count()
    return (
        Inputs(
            tickets=tickets,
            resolution_rate=min(_q2(Decimal(outcomes * 100) / tickets), Decimal("100")),
            attempts_per_ticket=min(_q2(Decimal(attempts) / tickets), Decimal("20")),
            seats=seats,
            seat_price=plan.price_per_seat,
        ),
        True,
    )


def costs(*, inputs: Inputs, plan: Plan, tickets: int | None = None) -> MonthlyCosts:
    return monthly_costs(
        tickets=inputs.tickets if tickets is None else tickets,
        resolution_rate=inputs.resolution_rate / 100,
        attempts_per_ticket=inputs.attempts_per_ticket,
        seats=inputs.seats,
        seat_price=inputs.seat_price,
        attempt_price=plan.price_per_attempt,
        outcome_price=plan.price_per_outcome,
    )


def chart_points(*, inputs: Inputs, plan: Plan, steps: int = 10) -> list[tuple[int, MonthlyCosts]]:
    top = max(inputs.tickets * 2, 100)
    return [(top * i // steps, costs(inputs=inputs, plan=plan, tickets=top * i // steps)) for i in range(steps + 1)]


def _nice_max(value: Decimal) -> Decimal:
    value = max(value, Decimal("1"))
    magnitude = Decimal(10) ** (len(str(int(value))) - 1)
    for factor in (1, 2, 5, 10):
        if magnitude * factor >= value:
            return magnitude * factor
    return magnitude * 10


def chart_svg(*, inputs: Inputs, plan: Plan) -> SafeString:
    """Monthly cost against ticket volume, one line per pricing model. Built from numbers and
    fixed labels only (the currency code is escaped), so it is safe to inline."""
    width, height, left, right, top, bottom = 640, 320, 70, 20, 20, 50
    points = chart_points(inputs=inputs, plan=plan)
    max_x = points[-1][0]
    max_y = _nice_max(max(getattr(c, key) for _, c in points for key, _, _ in SERIES))
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(v: int) -> float:
        return left + plot_w * v / max_x

    def y(v: Decimal) -> float:
        return top + plot_h - float(Decimal(plot_h) * v / max_y)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="cost-chart-title" class="cost-chart" width="100%">',
        '<title id="cost-chart-title">Monthly cost against tickets per month</title>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#d1d5db"/>',
    ]
    for i in range(5):
        value = max_y * i / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="#f3f4f6"/>'
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" font-size="11">{value:.0f}</text>'
        )
        tick = max_x * i // 4
        parts.append(
            f'<text x="{x(tick):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">{tick}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle" font-size="12">'
        "Tickets per month</text>"
        f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="12" transform="rotate(-90 14 {top + plot_h / 2:.0f})" '
        f'text-anchor="middle">{escape(plan.currency)} per month</text>'
    )
    for n, (key, label, colour) in enumerate(SERIES):
        coords = " ".join(f"{x(v):.1f},{y(getattr(c, key)):.1f}" for v, c in points)
        parts.append(
            f'<polyline class="series-{key}" fill="none" stroke="{colour}" stroke-width="2.5" points="{coords}"/>'
            f'<rect x="{left + 10 + n * 120}" y="{top + 8}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{left + 26 + n * 120}" y="{top + 14}" font-size="12">{label}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- numbers and fixed labels only


def result(*, inputs: Inputs, plan: Plan) -> dict[str, Any]:
    month = costs(inputs=inputs, plan=plan)
    return {
        "inputs": inputs.as_dict(),
        "currency": plan.currency,
        "prices": {
            "per_seat": str(inputs.seat_price),
            "per_attempt": str(plan.price_per_attempt),
            "per_outcome": str(plan.price_per_outcome),
        },
        "outcomes": month.outcomes,
        "attempts": str(month.attempts),
        "monthly": {
            "per_seat": str(month.per_seat),
            "per_attempt": str(month.per_attempt),
            "per_outcome": str(month.per_outcome),
        },
    }

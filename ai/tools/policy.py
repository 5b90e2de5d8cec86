"""The written shop policy the tools enforce (DESIGN.md "Bounded tools").

Defaults for every workspace: returns within 30 days of delivery, final-sale items and gift
cards never refundable, shipping address changes and cancellations only before shipment. A
workspace edits its own values in the admin ("Shop policy", ai.models.ShopPolicy); a run reads
them once (cached on the workspace instance it holds).
"""

from __future__ import annotations

import datetime as dt
import functools
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale
from django.utils import timezone

from ai.tools.base import ToolRefused
from ai.tools.connector import ItemInfo, OrderInfo
from helpdesk.models import Order, OrderStatus, Workspace

ZERO = Decimal("0.00")

# The clock policy windows read. A trial replays old tickets "as of" their own date (--now).
_policy_clock: ContextVar[dt.datetime | None] = ContextVar("policy_clock", default=None)


def policy_now() -> dt.datetime:
    return _policy_clock.get() or timezone.now()


@contextmanager
def policy_clock(now: dt.datetime | None) -> Iterator[None]:
    """Within the block, return windows and other policy dates are judged as of `now`."""
    token = _policy_clock.set(now)
    try:
        yield
    finally:
        _policy_clock.reset(token)


@dataclass(frozen=True)
class ShopPolicy:
    return_window_days: int = 30
    non_refundable_sku_prefixes: tuple[str, ...] = ("GIFT",)
    appointment_horizon_days: int = 90
    return_fee: Decimal = ZERO
    fee_free_countries: tuple[str, ...] = ()
    # ai.models.RefundTiming: "after_return" pays a refund once the returned item is back.
    refund_timing: str = "on_request"

    def item_refundable(self, item: ItemInfo) -> bool:
        return not item.final_sale and not item.sku.upper().startswith(self.non_refundable_sku_prefixes)

    def window_closes(self, order: OrderInfo | Order) -> dt.datetime | None:
        if order.delivered_at is None:
            return None
        return order.delivered_at + dt.timedelta(days=self.return_window_days)

    def check_return_window(self, order: OrderInfo, *, now: dt.datetime | None = None) -> None:
        closes = self.window_closes(order)
        if closes is not None and (now or policy_now()) > closes:
            raise ToolRefused(
                f"order {order.number} was delivered on {order.delivered_at:%Y-%m-%d}, outside the "
                f"{self.return_window_days}-day return window"
            )

    def refundable(self, order: OrderInfo, *, now: dt.datetime | None = None) -> Decimal:
        """What may still be refunded on this order, or ToolRefused with the policy's reason."""
        if order.status == OrderStatus.SHIPPED:
            raise ToolRefused(f"order {order.number} is in transit; it can be refunded once delivered and returned")
        self.check_return_window(order, now=now)
        blocked = sum((item.price * item.qty for item in order.items if not self.item_refundable(item)), start=ZERO)
        left = max(ZERO, order.total - blocked - order.refunded)
        if left == ZERO:
            if order.refunded > ZERO:
                raise ToolRefused(f"order {order.number} has already been refunded")
            raise ToolRefused("final-sale items and gift cards are never refundable")
        return left

    def return_fee_for(self, order: OrderInfo) -> Decimal | None:
        """The return-label fee a return of this order pays: none when the shop charges none or the
        address is in a country that returns for free; None when the address names no country
        (then a person works out the amount)."""
        if self.return_fee <= ZERO:
            return ZERO
        if not self.fee_free_countries:
            return self.return_fee
        country = order_country(order)
        if not country:
            return None
        free = {country_code(c, iso=True) or c.casefold() for c in self.fee_free_countries}
        return ZERO if country in free else self.return_fee

    def check_address_change(self, order: OrderInfo) -> None:
        if order.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            raise ToolRefused(f"order {order.number} is {order.status}; the address can only change before shipment")

    def check_cancellation(self, order: OrderInfo) -> None:
        if order.status == OrderStatus.CANCELLED:
            raise ToolRefused(f"order {order.number} is already cancelled")
        if order.status not in (OrderStatus.PENDING, OrderStatus.PROCESSING):
            raise ToolRefused(
                f"order {order.number} is {order.status}; only orders not yet shipped can be cancelled "
                "(a delivered order can be returned instead)"
            )


DEFAULT_POLICY = ShopPolicy()


# Names in the languages a shop's addresses are written in, and the short forms people use.
COUNTRY_NAME_LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl")
COUNTRY_ALIASES = {"usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US", "uk": "GB"}


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def _country_codes() -> dict[str, str]:
    codes = {_fold(alias): code for alias, code in COUNTRY_ALIASES.items()}
    for language in COUNTRY_NAME_LANGUAGES:
        for code, name in Locale(language).territories.items():
            if len(code) == 2 and code.isalpha():  # countries, not regions ("150" is Europe)
                codes.setdefault(_fold(name), code)
    return codes


def country_code(name: str, *, iso: bool = False) -> str:
    """ "Germany", "Deutschland" (and with iso=True "DE") -> "DE"; "" for what is not a country's name.
    An address's two letters are a state more often than a country ("Springfield, IL"), so only
    the shop's own settings may use the codes."""
    if iso and len(name.strip()) == 2 and name.strip().isalpha():
        return name.strip().upper()
    return _country_codes().get(_fold(name), "")


def order_country(order: OrderInfo) -> str:
    """The country an order ships to, as an ISO code: the last comma-separated part of its address,
    the way shops and carriers write it ("…, 79098 Freiburg, Germany"); "" when that part is not a
    country's name (an address that ends with its town)."""
    parts = [p for p in order.shipping_address.replace("\n", ",").split(",") if p.strip()]
    return country_code(parts[-1]) if len(parts) > 1 else ""


def policy_for(workspace: Workspace) -> ShopPolicy:
    """The workspace's policy: its admin-edited row, else the defaults."""
    cached: ShopPolicy | None = getattr(workspace, "_shop_policy", None)
    if cached is not None:
        return cached
    from ai.models import ShopPolicy as PolicyRow

    row = PolicyRow.objects.filter(workspace_id=workspace.pk).first()
    policy = (
        ShopPolicy(
            return_window_days=row.return_window_days,
            non_refundable_sku_prefixes=row.prefixes(),
            appointment_horizon_days=row.appointment_horizon_days,
            return_fee=row.return_fee,
            fee_free_countries=row.free_countries(),
            refund_timing=row.refund_timing,
        )
        if row is not None
        else DEFAULT_POLICY
    )
    workspace._shop_policy = policy  # type: ignore[attr-defined]
    return policy

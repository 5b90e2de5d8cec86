"""What one Agent run reads about its workspace's tools, read once for the run.

Planning, checking and running a read tool would each read the allow-list, the HTTP actions
(the tool specs and the shop connector's configuration), the customer's identity proof and the
order. A `ToolSession` reads each once per run, and keeps the orders it looked up. It serves reads only:
a write action held until the decision is checked and run afresh (`tool_execute` without a
session), so nothing that moves money or changes an account trusts a value read earlier.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from ai.models import HttpAction, ToolPermission
from ai.tools.connector import SHOP_CONNECTOR_ACTION, OrderInfo, ShopConnector, connector_from
from ai.tools.registry import specs_from_actions
from audit.services import Actor
from helpdesk.services_identity import ticket_identity_verified

if TYPE_CHECKING:
    from ai.tools.base import ToolCall, ToolSpec
    from ai.tools.runner import _Evaluation
    from helpdesk.models import Ticket


class _ReadMemo:
    """A connector that remembers the orders it read during one run (writes pass through)."""

    def __init__(self, inner: ShopConnector) -> None:
        self.inner = inner
        self._orders: dict[str, OrderInfo | None] = {}
        self._recent: dict[tuple[str, int], list[OrderInfo]] = {}

    def get_order(self, number: str) -> OrderInfo | None:
        if number not in self._orders:
            self._orders[number] = self.inner.get_order(number)
        return self._orders[number]

    def recent_orders(self, email: str, limit: int = 3) -> list[OrderInfo]:
        if (email, limit) not in self._recent:
            self._recent[(email, limit)] = self.inner.recent_orders(email, limit)
        return list(self._recent[(email, limit)])

    def issue_refund(self, order: OrderInfo, *, amount: Decimal, reason: str, key: str) -> dict[str, Any]:
        return self.inner.issue_refund(order, amount=amount, reason=reason, key=key)

    def create_replacement(self, order: OrderInfo, *, skus: list[str], reason: str, key: str) -> dict[str, Any]:
        return self.inner.create_replacement(order, skus=skus, reason=reason, key=key)

    def update_shipping_address(self, order: OrderInfo, *, address: str, key: str) -> dict[str, Any]:
        return self.inner.update_shipping_address(order, address=address, key=key)

    def cancel_order(self, order: OrderInfo, *, reason: str, key: str) -> dict[str, Any]:
        return self.inner.cancel_order(order, reason=reason, key=key)

    def send_password_reset(self, *, email: str, key: str) -> dict[str, Any]:
        return self.inner.send_password_reset(email=email, key=key)

    def request_email_change(self, *, email: str, new_email: str, key: str) -> dict[str, Any]:
        return self.inner.request_email_change(email=email, new_email=new_email, key=key)

    def book_appointment(self, *, email: str, when: str, topic: str, key: str) -> dict[str, Any]:
        return self.inner.book_appointment(email=email, when=when, topic=topic, key=key)


def http_actions(workspace_id: int) -> QuerySet[HttpAction]:
    return HttpAction.objects.filter(workspace_id=workspace_id).order_by("name")


def tool_permissions(workspace_id: int) -> QuerySet[ToolPermission]:
    return ToolPermission.objects.filter(workspace_id=workspace_id).order_by("tool")


class ToolSession:
    """One run's reads about its tools: specs, allow-list, connector, identity, orders."""

    def __init__(
        self,
        *,
        ticket: Ticket,
        actions: list[HttpAction] | None = None,
        permissions: list[ToolPermission] | None = None,
        identity: bool | None = None,
        simulate_builtin: bool = False,
    ) -> None:
        """`actions` (in name order), `permissions` and `identity` (is the ticket's customer
        verified): what the caller read already (the Agent reads them with its settings in one
        statement); else read here."""
        self.ticket = ticket
        # A trial checks every built-in tool as if enabled (nothing runs in a trial), so its report
        # shows what each tool the workspace has not enabled yet would do.
        self.simulate_builtin = simulate_builtin
        self._actions: list[HttpAction] | None = actions
        self._permissions: dict[str, ToolPermission] | None = (
            None if permissions is None else {p.tool: p for p in permissions}
        )
        self._specs: dict[str, ToolSpec] | None = None
        self._connector: _ReadMemo | None = None
        self._identity: bool | None = identity
        # Checks made in this run, by call: a read (or a refusal) runs on its check's evaluation.
        self._checked: list[tuple[ToolCall, _Evaluation]] = []

    def _http_actions(self) -> list[HttpAction]:
        if self._actions is None:
            self._actions = list(http_actions(self.ticket.workspace_id))
        return self._actions

    def specs(self) -> dict[str, ToolSpec]:
        if self._specs is None:
            self._specs = specs_from_actions(self._http_actions())
        return self._specs

    def permissions(self) -> dict[str, ToolPermission]:
        if self._permissions is None:
            self._permissions = {p.tool: p for p in tool_permissions(self.ticket.workspace_id)}
        return self._permissions

    def connector(self) -> ShopConnector:
        if self._connector is None:
            config = next((a for a in self._http_actions() if a.name == SHOP_CONNECTOR_ACTION), None)
            self._connector = _ReadMemo(connector_from(config, ticket=self.ticket, actor=Actor.system("tool-check")))
        return self._connector

    def identity_verified(self) -> bool:
        if self._identity is None:
            self._identity = ticket_identity_verified(self.ticket)
        return self._identity

    def remember(self, call: ToolCall, evaluation: _Evaluation) -> None:
        self._checked.append((call, evaluation))

    def checked(self, call: ToolCall) -> _Evaluation | None:
        return next((e for c, e in self._checked if c is call), None)

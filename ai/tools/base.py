"""The types every tool shares: calls, checks, results, and the spec a tool registers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ai.models import AgentRun
    from ai.tools.connector import ShopConnector
    from audit.services import Actor
    from helpdesk.models import Ticket

READ = "read"
WRITE = "write"

# A pseudo-tool: an ActionRequest that only holds a reply (a type-only approval rule matched).
REPLY_TOOL = "reply"


@dataclass(frozen=True)
class ToolCall:
    tool: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolCheck:
    call: ToolCall
    allowed: bool
    kind: str
    reason: str
    requires_approval: bool
    rule: dict[str, Any] | None
    amount: Decimal | None
    # A built-in tool the workspace has not enabled, checked as if it were (a trial shows what
    # enabling it would do; nothing runs in a trial).
    not_enabled: bool = False


@dataclass(frozen=True)
class ToolResult:
    call: ToolCall
    status: str  # executed | simulated | pending_approval | refused | failed
    result: dict[str, Any]
    reason: str
    action_request_id: int | None = None


class ToolRefused(Exception):
    """The call breaks a rule (identity, policy, limits): nothing ran."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ToolFailed(Exception):
    """The call was allowed but could not be carried out (the merchant's API failed...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ToolContext:
    """What a tool may act on. Identity comes from the ticket, never from the arguments."""

    ticket: Ticket
    connector: ShopConnector
    actor: Actor
    run: AgentRun | None = None
    idempotency_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def customer_email(self) -> str:
        return str(self.ticket.customer.email)


# prepare(ctx, args) -> preview: checks identity and policy without changing anything (raises
# ToolRefused); run(ctx, args) -> result: does it (raises ToolRefused / ToolFailed).
Prepare = Callable[[ToolContext, dict[str, Any]], dict[str, Any]]
Run = Callable[[ToolContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    schema: dict[str, Any]
    kind: str
    prepare: Prepare
    run: Run
    amount_arg: str = ""
    builtin: bool = True

    def openai_schema(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.schema},
        }

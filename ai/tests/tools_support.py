"""Fixtures and helpers of the tools and approvals tests: a small shop, a merchant API server."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from ai.models import ToolPermission
from ai.tools.http_client import verify
from helpdesk.models import Order, OrderItem, OrderStatus, Ticket, VerificationMethod, Workspace
from helpdesk.services_identity import identity_verify

CUSTOMER = "carla@customer.test"


def verified(ticket: Ticket) -> Ticket:
    """The ticket, its customer proven (as the trusted relay's DKIM pass on their e-mail would)."""
    from audit.services import Actor

    identity_verify(
        ticket=ticket,
        method=VerificationMethod.EMAIL_AUTH,
        actor=Actor.system("test"),
        evidence={"authserv_id": "mx.test", "passed": "dkim"},
    )
    return ticket


def make_order(
    workspace: Workspace,
    number: str,
    *,
    email: str = CUSTOMER,
    status: str = OrderStatus.DELIVERED,
    total: str = "40.00",
    delivered_days_ago: int | None = 5,
    items: list[dict[str, Any]] | None = None,
) -> Order:
    now = timezone.now()
    delivered = now - dt.timedelta(days=delivered_days_ago) if delivered_days_ago is not None else None
    shipped = delivered - dt.timedelta(days=2) if delivered else None
    if status in (OrderStatus.PENDING, OrderStatus.PROCESSING):
        delivered = shipped = None
    if status == OrderStatus.SHIPPED:
        delivered = None
        shipped = now - dt.timedelta(days=1)
    order = Order.objects.create(
        workspace=workspace,
        number=number,
        customer_email=email,
        status=status,
        placed_at=now - dt.timedelta(days=40 if delivered_days_ago and delivered_days_ago > 30 else 10),
        shipped_at=shipped,
        delivered_at=delivered,
        carrier="UPS" if shipped else "",
        tracking_number=f"1Z{number}" if shipped else "",
        currency=workspace.currency,
        total=Decimal(total),
        shipping_address="1 Main St, Springfield",
    )
    for item in items or [{"sku": f"SKU-{number}", "name": "Trail shoe", "price": total}]:
        OrderItem.objects.create(
            order=order,
            sku=item["sku"],
            name=item.get("name", item["sku"]),
            qty=item.get("qty", 1),
            price=Decimal(item["price"]),
            final_sale=item.get("final_sale", False),
        )
    return order


@pytest.fixture
def shop(workspace):
    return {
        "A1001": make_order(workspace, "A1001"),
        "A1002": make_order(workspace, "A1002", total="250.00"),
        "A1003": make_order(workspace, "A1003", status=OrderStatus.PROCESSING, total="60.00"),
        "A1004": make_order(workspace, "A1004", delivered_days_ago=60),
        "A1005": make_order(
            workspace,
            "A1005",
            total="70.00",
            items=[
                {"sku": "SHOE-1", "price": "30.00", "final_sale": True},
                {"sku": "GIFT-50", "price": "40.00"},
            ],
        ),
        "A1006": make_order(workspace, "A1006", status=OrderStatus.SHIPPED, total="80.00"),
        "B2001": make_order(workspace, "B2001", email="bob@other.test", total="500.00"),
    }


def enable(workspace: Workspace, *tools: str, max_amount: str | None = None) -> None:
    for tool in tools:
        ToolPermission.objects.update_or_create(
            workspace=workspace,
            tool=tool,
            defaults={"enabled": True, "max_amount": Decimal(max_amount) if max_amount else None},
        )


class MerchantServer:
    """A merchant backend on 127.0.0.1: records requests, checks signatures, answers per route.

    `routes[(method, path)] = (status, body)`; body is a dict (JSON) or raw bytes. It remembers
    idempotency keys and answers a repeated key with the first answer, as a merchant should.
    """

    def __init__(self, secret: str = "s3cret-merchant") -> None:  # noqa: S107
        self.secret = secret
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.executed: list[str] = []
        self.seen_keys: dict[str, tuple[int, bytes]] = {}
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                signature = self.headers.get("X-Oasis-Signature", "")
                key = self.headers.get("Idempotency-Key", "")
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "body": json.loads(body) if body else None,
                        "raw": body,
                        "signature_ok": verify(server.secret, body, signature),
                        "key": key,
                        "headers": dict(self.headers),
                    }
                )
                if server.delay:
                    time.sleep(server.delay)
                if key and key in server.seen_keys:
                    status, payload = server.seen_keys[key]
                else:
                    status, answer = server.routes.get((self.command, self.path), (404, {"error": "not found"}))
                    payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                    if key and status < 300:
                        server.seen_keys[key] = (status, payload)
                        server.executed.append(f"{self.command} {self.path}")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> MerchantServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def merchant():
    with MerchantServer() as server:
        yield server


DRAFT = "Hi Carla, your refund for order A1002 is on its way."


def held_refund(ticket, *, amount: str = "150.00", order: str = "A1002", actor=None, run=None):
    """A refund over the default threshold, queued for approval as the Agent would."""
    from ai.tools import ToolCall, action_request_create, tool_check
    from audit.services import Actor

    enable(ticket.workspace, "issue_refund")
    call = ToolCall("issue_refund", {"order_number": order, "amount": amount})
    check = tool_check(ticket=ticket, call=call)
    assert check.allowed and check.requires_approval, check.reason
    return action_request_create(
        ticket=ticket, run=run, call=call, check=check, reply_draft=DRAFT, actor=actor or Actor.ai("local")
    )

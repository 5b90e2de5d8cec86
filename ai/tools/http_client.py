"""Signed JSON requests to a merchant's API, with every failure turned into a clear reason.

The body is signed with HMAC-SHA256 (`X-Oasis-Signature: sha256=<hex>`) so the merchant can
tell our calls from anyone else's, and every write carries an `Idempotency-Key` that stays the
same when the same action is retried, so the merchant can refuse to do it twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from ai.tools.base import ToolFailed

SIGNATURE_HEADER = "X-Oasis-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_RESPONSE_BYTES = 1_000_000


class MerchantHttpError(ToolFailed):
    """The merchant answered with an HTTP error status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, body), header or "")


def encode_body(payload: dict[str, Any] | None) -> bytes:
    if payload is None:
        return b""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def idempotency_key(*parts: object) -> str:
    text = json.dumps([str(p) if isinstance(p, Decimal) else p for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def signed_request(
    *,
    method: str,
    url: str,
    payload: dict[str, Any] | None,
    secret: str,
    timeout: float,
    key: str = "",
) -> dict[str, Any]:
    """Send one request; return the decoded JSON object or raise ToolFailed with the reason."""
    method = method.upper()
    if not url.startswith(("http://", "https://")):
        raise ToolFailed("the action's URL must start with http:// or https://")
    body = encode_body(payload) if method not in ("GET", "DELETE") else b""
    headers = {"Accept": "application/json", "User-Agent": "SupportOasis/1"}
    if body:
        headers["Content-Type"] = "application/json"
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, body)
    if key:
        headers[IDEMPOTENCY_HEADER] = key
    request = urllib.request.Request(url, data=body or None, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        detail = exc.read(500).decode(errors="replace").strip()
        kind = "server error" if exc.code >= 500 else "refused the request"
        reason = f"the merchant API {kind}: HTTP {exc.code}" + (f" ({detail[:200]})" if detail else "")
        raise MerchantHttpError(reason, exc.code) from None
    except TimeoutError:
        raise ToolFailed(f"the merchant API did not answer within {timeout:g} seconds") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise ToolFailed(f"the merchant API did not answer within {timeout:g} seconds") from None
        raise ToolFailed(f"could not reach the merchant API: {exc.reason}") from None
    except OSError as exc:
        raise ToolFailed(f"could not reach the merchant API: {exc}") from None
    if len(raw) > MAX_RESPONSE_BYTES:
        raise ToolFailed("the merchant API answered with more than 1 MB")
    if not raw.strip():
        return {"http_status": status}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ToolFailed(f"the merchant API answered HTTP {status} with malformed JSON") from None
    if not isinstance(data, dict):
        raise ToolFailed(f"the merchant API answered HTTP {status} with JSON that is not an object")
    return data

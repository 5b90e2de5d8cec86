"""The inbound email webhook: a mail provider (or our own MTA pipe) POSTs each message here."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpdesk.channels.email_in import EmailRejected, IngestResult, ingest_email
from helpdesk.models import Workspace
from oasis.middleware import input_hygiene_exempt

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Oasis-Inbound-Secret"  # noqa: S105 (a header name, not a secret)
_RAW_TYPES = frozenset({"", "message/rfc822", "text/plain", "application/octet-stream"})
_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
# Multipart framing adds a little around the message itself.
_FORM_OVERHEAD = 64 * 1024


# Hygiene exempt: a mail carrying NUL or broken Unicode is still filed; parse_email strips them.
@input_hygiene_exempt
@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest, workspace_slug: str) -> JsonResponse:
    workspace = Workspace.objects.filter(slug=workspace_slug).first()
    if workspace is None:
        return _error(404, "Unknown workspace.")
    if not _secret_ok(request, workspace):
        return _error(403, "Missing or wrong inbound secret.")
    try:
        result = ingest_email(workspace=workspace, raw=_raw_message(request))
    except EmailRejected as rejected:
        logger.info("inbound email for %s rejected: %s", workspace.slug, rejected)
        return _error(413 if rejected.code == "too_large" else 400, str(rejected))
    return _result(result)


def _secret_ok(request: HttpRequest, workspace: Workspace) -> bool:
    given = request.headers.get(SECRET_HEADER, "")
    # An empty stored secret means the webhook is switched off, not open to everyone.
    if not given or not workspace.inbound_secret:
        return False
    return hmac.compare_digest(given.encode(), workspace.inbound_secret.encode())


def _raw_message(request: HttpRequest) -> bytes:
    """The message bytes, whichever way the provider delivers them; size-checked before reading."""
    limit = settings.OASIS_MAX_EMAIL_BYTES
    if _content_length(request) > limit + _FORM_OVERHEAD:
        raise EmailRejected(f"The request is larger than the {limit}-byte limit.", code="too_large")
    content_type = (request.content_type or "").lower()
    try:
        if content_type in _RAW_TYPES:
            return request.body
        if content_type in _FORM_TYPES:
            return _form_message(request, limit)
    except RequestDataTooBig:
        raise EmailRejected(f"The request is larger than the {limit}-byte limit.", code="too_large") from None
    raise EmailRejected(f"Unsupported Content-Type {content_type!r}; send message/rfc822 or a form field 'email'.")


def _form_message(request: HttpRequest, limit: int) -> bytes:
    upload = request.FILES.get("email")
    if upload is not None:
        # Read one byte past the limit so parse_email reports "too large" without loading more.
        data: bytes = upload.read(limit + 1)
        return data
    field = request.POST.get("email")
    if not field:
        raise EmailRejected("The form has no 'email' field or file.")
    return field.encode("utf-8", errors="surrogateescape")


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _result(result: IngestResult) -> JsonResponse:
    payload = {
        "ticket": result.ticket.pk,
        "number": result.ticket.number,
        "message": result.message.pk,
        "created": result.created,
        "duplicate": result.duplicate,
    }
    return JsonResponse(payload, status=200 if result.duplicate else 201)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)

"""The edge: input hygiene before any view runs, and the security headers of every response.

`InputHygieneMiddleware` refuses, with a 400 that names the problem (never echoing the input),
a path, query string, form field or JSON body carrying NUL or a lone surrogate, and JSON nested
deeper than `oasis.hygiene.MAX_JSON_DEPTH`; multipart uploads are capped while they stream
(`oasis.uploads`), so a view never sees what Postgres or the stack cannot take. A view that must
keep such input anyway (inbound e-mail is filed with the bad characters stripped) opts out with
`@input_hygiene_exempt` and sanitises on its own.

`ContentSecurityPolicyMiddleware` sets `settings.OASIS_CONTENT_SECURITY_POLICY` on every
response that has none: scripts and styles from our own origin only, no framing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from oasis.hygiene import InputRejected, check_text, json_loads
from oasis.uploads import UploadTooLarge

_FORM_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ViewT = TypeVar("ViewT", bound=Callable[..., Any])


def input_hygiene_exempt(view: ViewT) -> ViewT:
    """Let a view receive NUL and lone surrogates: it must strip them itself."""
    view.input_hygiene_exempt = True  # type: ignore[attr-defined]
    return view


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def check_request(request: HttpRequest) -> None:
    """Raise InputRejected for the first part of the request no view may receive."""
    check_text(request.path_info, where="URL path")
    for key, values in request.GET.lists():
        check_text(key, where="query string")
        for value in values:
            check_text(value, where="query string")
    if request.method not in _BODY_METHODS:
        return
    content_type = (request.content_type or "").lower()
    if content_type in _FORM_TYPES:
        for key, values in request.POST.lists():
            check_text(key, where="form")
            for value in values:
                check_text(value, where="form")
        for _field, uploads in request.FILES.lists():
            for upload in uploads:
                check_text(str(upload.name or ""), where="file name")
    elif _is_json(content_type) and request.body.strip():
        try:
            json_loads(request.body)
        except InputRejected:
            raise
        except ValueError:
            pass  # malformed JSON: the view (or DRF's parser) answers it in its own words


def _refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    wants_json = _is_json((request.content_type or "").lower()) or "json" in request.headers.get("Accept", "")
    if wants_json:
        return JsonResponse({"error": "invalid_input", "detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class InputHygieneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if getattr(view_func, "input_hygiene_exempt", False):
            return None
        try:
            check_request(request)
        except UploadTooLarge as exc:
            return _refusal(request, 413, str(exc))
        except InputRejected as exc:
            return _refusal(request, 400, str(exc))
        return None


def content_security_policy() -> str:
    directives: dict[str, str] = settings.OASIS_CONTENT_SECURITY_POLICY
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response

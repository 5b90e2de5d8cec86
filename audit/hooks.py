"""What the apps above audit add to its pages, registered in their AppConfig.ready().

Audit records and knows no domain (an import-linter contract in pyproject.toml holds it): a
page that reads the audit trail with a domain's eyes (the AI's trust page) lives in that app
and registers its URLs here, under the audit namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.urls import URLPattern

_urls: list[URLPattern] = []


def register_urls(patterns: Sequence[URLPattern]) -> None:
    _urls.extend(p for p in patterns if p not in _urls)


def registered_urls() -> list[URLPattern]:
    return list(_urls)

"""The audit log review's AI filters: AI replies, actions and approvals, the decision, the
confidence. Audit knows no AI; `AIConfig.ready()` registers these through `audit.hooks`."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from ai.timeline_card import DECISION_WORDS

EVENT_GROUPS = {
    "ai_reply": ("AI reply", Q(kind__startswith="ai.") | Q(kind="message.replied", actor_kind="ai")),
    "action": ("Action", Q(kind__startswith="action.")),
    "approval": ("Approval", Q(kind__in=["action.approved", "action.rejected"])),
}


class DecisionFilter(admin.SimpleListFilter):
    title = "AI decision"
    parameter_name = "decision"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(DECISION_WORDS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(data__decision=self.value()) if self.value() else queryset


class ConfidenceFilter(admin.SimpleListFilter):
    title = "confidence"
    parameter_name = "confidence"

    BUCKETS = {
        "lt50": ("below 0.50", None, 0.5),
        "50-70": ("0.50 to 0.70", 0.5, 0.7),
        "70-85": ("0.70 to 0.85", 0.7, 0.85),
        "85-95": ("0.85 to 0.95", 0.85, 0.95),
        "ge95": ("0.95 and above", 0.95, None),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _, _) in self.BUCKETS.items()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        bucket = self.BUCKETS.get(self.value() or "")
        if bucket is None:
            return queryset
        _, low, high = bucket
        # jsonb orders strings below numbers and booleans above them: bounding to [0, 1]
        # keeps only events whose confidence is a number.
        queryset = queryset.filter(data__confidence__gte=0, data__confidence__lte=1)
        if low is not None:
            queryset = queryset.filter(data__confidence__gte=low)
        if high is not None:
            queryset = queryset.filter(data__confidence__lt=high)
        return queryset


EVENT_FILTERS = [DecisionFilter, ConfidenceFilter]

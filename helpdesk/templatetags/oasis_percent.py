"""`{{ value|pct }}`: a confidence in [0, 1] as the decisions word it (89.9%, never a rounded
90% beside "below the 90% threshold")."""

from __future__ import annotations

import math

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    if value is None:
        return ""
    # Rounded down to a tenth, as ai.agent.decide.percent words the decision itself.
    return f"{math.floor(float(value) * 1000 + 1e-9) / 10:g}%"

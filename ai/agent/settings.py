"""Services for the Agent's settings: AI settings and confidence rules, each change audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict

from ai.models import AISettings, ConfidenceRule
from audit.services import Actor, audit_record
from helpdesk.services import workspace_update


def _snapshot(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in model_to_dict(obj).items() if k not in ("id", "workspace")} if obj.pk else {}


@transaction.atomic
def ai_settings_save(*, obj: AISettings, actor: Actor, mode: str | None = None) -> AISettings:
    before = _snapshot(AISettings.objects.get(pk=obj.pk)) if obj.pk else {}
    obj.full_clean()
    obj.save()
    if mode is not None and mode != obj.workspace.mode:
        workspace_update(workspace=obj.workspace, actor=actor, changes={"mode": mode})
    audit_record(
        workspace=obj.workspace,
        actor=actor,
        kind="settings.changed",
        data={"model": "ai.aisettings", "object": obj.pk, "before": before, "after": _snapshot(obj)},
    )
    return obj


@transaction.atomic
def confidence_rule_save(*, rule: ConfidenceRule, actor: Actor) -> ConfidenceRule:
    before = _snapshot(ConfidenceRule.objects.get(pk=rule.pk)) if rule.pk else {}
    rule.full_clean()
    rule.save()
    audit_record(
        workspace=rule.workspace,
        actor=actor,
        kind="settings.changed",
        data={"model": "ai.confidencerule", "object": rule.pk, "before": before, "after": _snapshot(rule)},
    )
    return rule


@transaction.atomic
def confidence_rule_delete(*, rule: ConfidenceRule, actor: Actor) -> None:
    before, pk, workspace = _snapshot(rule), rule.pk, rule.workspace
    rule.delete()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="settings.changed",
        data={"model": "ai.confidencerule", "object": pk, "before": before, "after": {}},
    )

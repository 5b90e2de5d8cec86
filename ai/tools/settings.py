"""Saving and deleting the tool settings an admin edits (allow-list, HTTP actions, approval
rules, shop policy), audited.

One service so the admin and any later settings page record the same "settings.changed" event
with before and after; an HTTP action's secret is recorded only as set / not set.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model

from ai.models import ApprovalRule, HttpAction, ShopPolicy, ToolPermission
from audit.services import Actor, audit_record

SECRET_FIELDS = frozenset({"secret"})
ToolSetting = ToolPermission | HttpAction | ApprovalRule | ShopPolicy


def _snapshot(obj: Model) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in ("id", "workspace"):
            continue
        value = getattr(obj, field.attname)
        values[field.name] = ("set" if value else "") if field.name in SECRET_FIELDS else value
    return values


@transaction.atomic
def tool_setting_save(*, obj: ToolSetting, actor: Actor) -> ToolSetting:
    """Validate, save and audit one tool setting; a new HTTP action starts disabled."""
    before = _snapshot(type(obj).objects.get(pk=obj.pk)) if obj.pk else None
    obj.full_clean()
    obj.save()
    if isinstance(obj, HttpAction):
        ToolPermission.objects.get_or_create(workspace_id=obj.workspace_id, tool=obj.name)
    audit_record(
        workspace=obj.workspace,
        actor=actor,
        kind="settings.changed",
        data={"model": obj._meta.model_name, "object": obj.pk, "before": before, "after": _snapshot(obj)},
    )
    return obj


@transaction.atomic
def tool_setting_delete(*, obj: ToolSetting, actor: Actor) -> None:
    """Delete and audit one tool setting (the event's `after` is None)."""
    before, pk, workspace = _snapshot(obj), obj.pk, obj.workspace
    obj.delete()
    audit_record(
        workspace=workspace,
        actor=actor,
        kind="settings.changed",
        data={"model": obj._meta.model_name, "object": pk, "before": before, "after": None},
    )

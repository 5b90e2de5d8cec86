"""Creating django-q2 schedules idempotently, for the apps' data migrations and commands."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def schedule_upsert(
    schedule_model: Any,
    *,
    name: str,
    func: str,
    schedule_type: str,
    first_run: datetime,
    minutes: int | None = None,
    kwargs: str | None = None,
) -> None:
    """Create the schedule, or update its task and type; a re-run keeps the next run already planned."""
    fields = {"func": func, "schedule_type": schedule_type, "repeats": -1, "minutes": minutes, "kwargs": kwargs}
    schedule_model.objects.update_or_create(
        name=name, defaults=fields, create_defaults={**fields, "next_run": first_run}
    )


def schedules_migration(module: str) -> Any:
    """A migration operation that creates the schedules of `module` (its `setup_schedules`) and,
    reversed, deletes them (its `SCHEDULES`); the module is imported only when the migration runs."""
    from importlib import import_module

    from django.db import migrations

    def create(apps: Any, schema_editor: Any) -> None:
        import_module(module).setup_schedules(apps.get_model("django_q", "Schedule"))

    def remove(apps: Any, schema_editor: Any) -> None:
        names = [spec["name"] for spec in import_module(module).SCHEDULES]
        apps.get_model("django_q", "Schedule").objects.filter(name__in=names).delete()

    return migrations.RunPython(create, remove)
